import { z } from "zod";
import type { Logger } from "./logger.ts";
import { subscribeJson } from "./pubsub.ts";
import { channelOf, type Redis } from "./redis.ts";

/**
 * "Who may see which vehicles changed" (a group's members, a group deleted, an account's grant:
 * core/vehicle-groups.ts), announced over Redis pub/sub to every API node (open /ws sockets,
 * api/live-access.ts) and broker node (integration sessions, broker/integration-scope.ts). Each
 * re-reads the vehicle sets of its open sessions; a request is checked against PostgreSQL anyway.
 */
export const accessChangedChannel = "lt:access-changed";

const accessChangedSchema = z.object({ at: z.number() });

/** Resolves with the number of nodes that heard it. */
export async function publishAccessChanged(redis: Redis): Promise<number> {
  return redis.publish(channelOf(redis, accessChangedChannel), JSON.stringify({ at: Date.now() }));
}

export function subscribeAccessChanged(
  subscriber: Redis,
  log: Logger,
  handle: () => void,
): Promise<() => Promise<void>> {
  return subscribeJson(subscriber, accessChangedChannel, accessChangedSchema, log, () => handle());
}
