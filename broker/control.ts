import { z } from "zod";
import type { Logger } from "../core/logger.ts";
import { channelOf, type Redis, redisKeys } from "../core/redis.ts";

/**
 * Control messages from the API to every broker node, over Redis pub/sub: the API cannot reach
 * a device's MQTT session itself, and with several broker nodes it does not know which one holds it.
 */
export const controlMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("revoke"), vehicleId: z.string() }),
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
  return redis.publish(channelOf(redis, redisKeys.control), JSON.stringify(msg));
}

/** Subscribes `subscriber` (a connection of its own) to the control channel. Returns an unsubscribe. */
export async function subscribeControl(
  subscriber: Redis,
  log: Logger,
  handle: (msg: ControlMessage) => void,
): Promise<() => Promise<void>> {
  const control = channelOf(subscriber, redisKeys.control);
  const onMessage = (channel: string, raw: string) => {
    if (channel !== control) return;
    const parsed = controlMessageSchema.safeParse(safeParse(raw));
    if (parsed.success) handle(parsed.data);
    else log.warn({ raw }, "ignored malformed control message");
  };
  subscriber.on("message", onMessage);
  await subscriber.subscribe(control);
  return async () => {
    subscriber.off("message", onMessage);
    await subscriber.unsubscribe(control).catch(() => {});
  };
}

function safeParse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
