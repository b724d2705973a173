import type { Logger } from "../core/logger.ts";
import { counterField } from "../core/metrics-catalogue.ts";
import { type Redis, redisKeys } from "../core/redis.ts";

/**
 * Adds the load shedding's counts (limits/load-shed.ts) to the metrics hash as deltas, when
 * shedding starts and when it stops: `broker_shedding` (times it started) and
 * `broker_sockets_paused` (sockets it stopped reading), `broker_shed_disconnects` (clients it
 * closed, not read for BROKER_SHED_DISCONNECT_MS). Returns the flush to call then; a delta
 * is taken off only once written, so counts missed while Redis is away go with the next one.
 */
export function startSheddingMetrics(
  redis: Redis,
  shed: { readonly counts: Readonly<{ started: number; paused: number; disconnected: number }> },
  log: Logger,
): () => void {
  const written = { started: 0, paused: 0, disconnected: 0 };
  return () => {
    const started = shed.counts.started - written.started;
    const paused = shed.counts.paused - written.paused;
    const disconnected = shed.counts.disconnected - written.disconnected;
    if (started === 0 && paused === 0 && disconnected === 0) return;
    written.started += started;
    written.paused += paused;
    written.disconnected += disconnected;
    redis
      .pipeline()
      .hincrby(redisKeys.metrics, counterField("broker_shedding"), started)
      .hincrby(redisKeys.metrics, counterField("broker_sockets_paused"), paused)
      .hincrby(redisKeys.metrics, counterField("broker_shed_disconnects"), disconnected)
      .exec()
      .catch((err: unknown) => {
        written.started -= started;
        written.paused -= paused;
        written.disconnected -= disconnected;
        log.warn({ err }, "shedding counts not written to the metrics hash");
      });
  };
}
