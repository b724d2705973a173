import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Aedes } from "aedes";
import type { Logger } from "../core/logger.ts";
import { type Redis, redisKeys } from "../core/redis.ts";

export interface HeartbeatDeps {
  aedes: Aedes;
  redis: Redis;
  log: Logger;
  /** the admission state carried in each beat (limits/admission.ts) */
  limits: { stats(): object };
}

/**
 * The broker's heartbeat key in Redis, refreshed every 5 s. `stop` ends the beats (first thing on
 * close); `remove` deletes the key (last thing on close, once the broker is gone).
 */
export function startHeartbeat(deps: HeartbeatDeps): { stop(): void; remove(): Promise<void> } {
  const { aedes, limits, log } = deps;
  // /health reads this key: present = a broker is alive. It also carries the event-loop delay
  // of the last interval (scripts/soak.ts samples it) and the ingest admission state.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const beat = () => {
    const lag = {
      loopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e4) / 100,
      loopDelayMaxMs: Math.round(loopDelay.max / 1e4) / 100,
    };
    loopDelay.reset();
    return deps.redis
      .set(
        `${redisKeys.brokerHeartbeat}${aedes.id}`,
        JSON.stringify({ at: Date.now(), clients: aedes.connectedClients, ...lag, ...limits.stats() }),
        "PX",
        15_000,
      )
      .catch((err: unknown) => log.warn({ err }, "heartbeat failed"));
  };
  void beat();
  const heartbeat = setInterval(beat, 5_000);
  heartbeat.unref();

  return {
    stop() {
      clearInterval(heartbeat);
      loopDelay.disable();
    },
    async remove() {
      await deps.redis.del(`${redisKeys.brokerHeartbeat}${aedes.id}`).catch(() => {});
    },
  };
}
