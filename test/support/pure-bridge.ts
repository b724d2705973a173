import pino from "pino";
import { type Bridge, createBridge } from "../../bridge/bridge.ts";
import { loadConfig } from "../../core/config.ts";
import { createRedis } from "../../core/redis.ts";

/**
 * A bridge for its pure decide(): no services (its Redis is never connected, its queue never
 * used), the clock fixed at `now`.
 */
export function pureBridge(now: number): { bridge: Bridge; close(): Promise<void> } {
  const config = loadConfig({ DATABASE_URL: "postgres://x@127.0.0.1/x", REDIS_URL: "redis://127.0.0.1:1" });
  const redis = createRedis(config.REDIS_URL, { lazyConnect: true });
  const bridge = createBridge({
    config,
    queue: {} as never,
    redis,
    log: pino({ level: "silent" }),
    now: () => now,
  });
  return {
    bridge,
    async close() {
      await bridge.close();
      redis.disconnect();
    },
  };
}
