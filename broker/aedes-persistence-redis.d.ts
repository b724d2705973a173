// aedes-persistence-redis ships no types; only what broker/cluster-redis.ts uses.
declare module "aedes-persistence-redis" {
  import type { Redis } from "ioredis";

  interface AedesPersistenceRedisOptions {
    /** a connection of the caller's (the persistence otherwise opens one from ioredis options) */
    conn?: Redis;
    /** offline messages delivered on CONNECT at most (default 1000) */
    maxSessionDelivery?: number;
  }
  interface AedesPersistenceRedis {
    setup(broker: unknown): Promise<void>;
    destroy(): Promise<void>;
  }
  function aedesPersistenceRedis(opts?: AedesPersistenceRedisOptions): AedesPersistenceRedis;
  export = aedesPersistenceRedis;
}
