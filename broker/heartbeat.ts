import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Aedes } from "aedes";
import { startHeartbeat as beat, type HeartbeatHandle } from "../core/heartbeat.ts";
import type { Logger } from "../core/logger.ts";
import type { Redis } from "../core/redis.ts";

export interface HeartbeatDeps {
  aedes: Aedes;
  redis: Redis;
  log: Logger;
  /** the admission state carried in each beat (limits/admission.ts) */
  limits: {
    stats(): { held: number; waiting: number; rateDelayed: number; pendingAuth: number; shedding: boolean };
  };
}

/**
 * The broker node's heartbeat (core/heartbeat.ts: key, TTL, interval): /health reads it as "a
 * broker is alive"; it also carries the event-loop delay of the last interval (scripts/soak.ts
 * samples it) and the ingest admission state. `stop` ends the beats (first thing on close);
 * `remove` deletes the key (last thing on close, once the broker is gone).
 */
export function startHeartbeat(deps: HeartbeatDeps): HeartbeatHandle {
  const { aedes, limits } = deps;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const handle = beat({
    redis: deps.redis,
    node: aedes.id,
    log: deps.log,
    content: () => {
      const lag = {
        loopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e4) / 100,
        loopDelayMaxMs: Math.round(loopDelay.max / 1e4) / 100,
      };
      loopDelay.reset();
      return { clients: aedes.connectedClients, ...lag, ...limits.stats() };
    },
  });
  return {
    beat: handle.beat,
    stop() {
      handle.stop();
      loopDelay.disable();
    },
    remove: handle.remove,
  };
}
