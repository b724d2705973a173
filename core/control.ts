import { z } from "zod";
import type { Logger } from "./logger.ts";
import { subscribeJson } from "./pubsub.ts";
import { channelOf, type Redis } from "./redis.ts";

/**
 * Control messages from the API (and operator tools) to every broker node, over Redis pub/sub:
 * they cannot reach a device's MQTT session themselves, and with several broker nodes they do not
 * know which one holds it. The broker's side is broker/create-broker.ts.
 */
export const controlChannel = "lt:control";

export const controlMessageSchema = z.discriminatedUnion("type", [
  /** disconnect the vehicle's live sessions and drop its cached credential (or cached refusal) */
  z.object({ type: z.literal("revoke"), vehicleId: z.string() }),
  /** disconnect an integration account's live sessions and drop its cached credential */
  z.object({ type: z.literal("revoke-integration"), name: z.string() }),
  /** a stored downlink command to publish on fleet/{vehicleId}/commands (broker/command-downlink.ts) */
  z.object({
    type: z.literal("command"),
    vehicleId: z.string(),
    commandId: z.string(),
    payload: z.unknown(),
  }),
]);
export type ControlMessage = z.infer<typeof controlMessageSchema>;

/** Resolves with the number of broker nodes (control subscribers) that received it. */
export async function publishControl(redis: Redis, msg: ControlMessage): Promise<number> {
  return redis.publish(channelOf(redis, controlChannel), JSON.stringify(msg));
}

/**
 * Tells every broker node that a vehicle's credentials or status changed: its live sessions end
 * and its next connect is checked against PostgreSQL again. Resolves with the nodes reached.
 */
export function publishRevoke(redis: Redis, vehicleId: string): Promise<number> {
  return publishControl(redis, { type: "revoke", vehicleId });
}

/** The same for an integration account (deleted): its `fleet/#` sessions end on every node. */
export function publishRevokeIntegration(redis: Redis, name: string): Promise<number> {
  return publishControl(redis, { type: "revoke-integration", name });
}

/** Subscribes `subscriber` (a connection of its own) to the control channel. Returns an unsubscribe. */
export function subscribeControl(
  subscriber: Redis,
  log: Logger,
  handle: (msg: ControlMessage) => void,
): Promise<() => Promise<void>> {
  return subscribeJson(subscriber, controlChannel, controlMessageSchema, log, handle);
}
