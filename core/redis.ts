import { Redis, type RedisOptions } from "ioredis";

export type { Redis };

/**
 * A Redis connection. `maxRetriesPerRequest: null` is what BullMQ requires for its blocking
 * connections, and what the bridge wants everywhere: while Redis restarts, commands wait in
 * ioredis's offline queue (the PUBACKs they guard stay held) instead of failing after 20 tries.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...options });
  // Connection errors are retried by ioredis; the operations that wait on them report (enqueue
  // failed, /health 503). Without a listener ioredis prints every refused reconnect.
  redis.on("error", () => {});
  return redis;
}

/**
 * Redis keys shared by the processes. Those of the live state, the control channel and the broker
 * heartbeat are in their own modules (core/live-state.ts, core/control.ts, core/heartbeat.ts).
 */
export const redisKeys = {
  /** pub/sub channel carrying vehicle events (geofence enter/exit …) as a JSON array (core/events.ts) */
  eventsChannel: "lt:events:updates",
  /** prefix of the claim a broker node takes before relaying an events message to MQTT (SET NX) */
  eventsRelayed: "lt:events:relayed:",
  /** hash of pipeline counters (bridge and worker; core/metrics-catalogue.ts), exported by /metrics */
  metrics: "lt:metrics",
  /** prefix of the API's rate-limit counters (api/rate-limit-store.ts): every replica counts in them */
  rateLimit: "lt:rate-limit:",
  /** prefix of the per-account login failure counts and backoffs (api/login-backoff.ts) */
  loginBackoff: "lt:login-backoff:",
};

/**
 * The name of pub/sub channel `name` for the logical database `redis` is connected to, e.g.
 * `lt:control:db0`. Redis delivers a PUBLISH to the subscribers of every database ("Pub/Sub has
 * no relation to the key space"), so two deployments sharing one Redis server on different
 * databases (REDIS_URL …/1 and …/2) would see each other's live positions and run each other's
 * downlink commands. Publisher and subscriber use the same REDIS_URL, so they agree on the name.
 */
export function channelOf(redis: Redis, name: string): string {
  return `${name}:db${redis.options.db ?? 0}`;
}
