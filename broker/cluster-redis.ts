import type { EventEmitter } from "node:events";
import aedesPersistenceRedis from "aedes-persistence-redis";
import mqemitterRedis from "mqemitter-redis";
import type { Logger } from "../core/logger.ts";
import { createRedis } from "../core/redis.ts";

type Emitter = ReturnType<typeof mqemitterRedis>;
type EmitterConnection = NonNullable<Parameters<typeof mqemitterRedis>[0]>["subConn"];

export interface ClusterDeps {
  mq: Emitter;
  persistence: ReturnType<typeof aedesPersistenceRedis>;
  close(): Promise<void>;
}

/**
 * What lets several broker nodes act as one broker (BROKER_CLUSTER=redis): messages are routed
 * between nodes through Redis pub/sub (mqemitter-redis), and sessions (subscriptions, queued
 * QoS 1 messages, retained messages, wills) live in Redis (aedes-persistence-redis 12, which
 * carries the advisory fix for the QoS 2 dedup table), so a device reconnecting to another node
 * finds its session there.
 */
export function createRedisCluster(redisUrl: string, log: Logger): ClusterDeps {
  // Connections of our own (core/redis.ts: commands wait out a Redis restart). The emitter's
  // own would, with a database number in the URL, send SELECT after SUBSCRIBE and fail; its
  // bundled ioredis 5 types differ from our ioredis 6 only nominally.
  const connection = () => createRedis(redisUrl) as unknown as EmitterConnection;
  const mq = mqemitterRedis({
    subConn: connection(),
    pubConn: connection(),
    // as the emitter Aedes builds by default with create-broker.ts's options: bounded delivery
    // concurrency, and a topic with empty levels matches wildcards [MQTT-4.7.1-3]
    concurrency: 1000,
    matchEmptyLevels: true,
  });
  // the emitter re-emits connection errors on `state`; unheard, an EventEmitter error throws
  (mq as unknown as { state: EventEmitter }).state.on("error", (err: Error) =>
    log.warn({ err: err.message }, "cluster emitter: Redis connection error"),
  );
  const persistence = aedesPersistenceRedis({ conn: createRedis(redisUrl) });
  return {
    mq,
    persistence,
    async close() {
      // after the broker closed (Aedes closes the emitter itself)
      await persistence.destroy();
    },
  };
}
