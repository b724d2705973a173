import { z } from "zod";
import type { Logger } from "./logger.ts";
import { subscribeJson } from "./pubsub.ts";
import { channelOf, type Redis } from "./redis.ts";

/**
 * Revoked API credentials, announced to every API node over Redis pub/sub: a request is checked
 * against PostgreSQL each time, but an open `/ws` socket was checked once, at its upgrade, and
 * lives on an API node the revoking caller (another node, the CLI) cannot reach. Each node closes
 * the sockets opened by a subject it hears about (api/socket-revocations.ts).
 *
 * A subject names what a socket was authenticated by: `user:<id>`, `token:<id>` (a Bearer token,
 * or a session opened with one), `session:<sha-256 of the cookie, hex>`.
 */
export const authRevokedChannel = "lt:auth-revoked";

export const authSubject = {
  user: (id: number) => `user:${id}`,
  token: (id: number) => `token:${id}`,
  session: (idHash: Buffer) => `session:${idHash.toString("hex")}`,
};

const authRevokedSchema = z.object({ subjects: z.array(z.string()) });

/** Resolves with the number of API nodes that heard it. */
export async function publishAuthRevoked(redis: Redis, subjects: string[]): Promise<number> {
  if (subjects.length === 0) return 0;
  return redis.publish(channelOf(redis, authRevokedChannel), JSON.stringify({ subjects }));
}

export function subscribeAuthRevoked(
  subscriber: Redis,
  log: Logger,
  handle: (subjects: string[]) => void,
): Promise<() => Promise<void>> {
  return subscribeJson(subscriber, authRevokedChannel, authRevokedSchema, log, (m) => handle(m.subjects));
}
