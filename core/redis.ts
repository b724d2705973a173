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

/** Redis keys shared by the processes (live state, metrics, control channel). */
export const redisKeys = {
  /** hash vehicleId → JSON of the newest fix */
  live: "lt:live",
  /** hash vehicleId → recordedAt (ms) of the newest fix, for compare-and-set */
  liveTime: "lt:live:t",
  /** GEO set of the newest positions */
  geo: "lt:geo",
  /** pub/sub channel carrying newest fixes per flush, for the API's WebSocket (see channelOf) */
  liveChannel: "lt:live:updates",
  /** pub/sub channel carrying vehicle events (geofence enter/exit …) as a JSON array, for /ws */
  eventsChannel: "lt:events:updates",
  /** prefix of the claim a broker node takes before relaying an events message to MQTT (SET NX) */
  eventsRelayed: "lt:events:relayed:",
  /** hash of pipeline counters (bridge and worker), exported by the API's /metrics */
  metrics: "lt:metrics",
  /** pub/sub channel: control messages to brokers (disconnect a vehicle, drop a cached credential) */
  control: "lt:control",
  /** broker heartbeat key prefix (with TTL) */
  brokerHeartbeat: "lt:broker:",
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
