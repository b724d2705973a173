import type { Logger } from "../core/logger.ts";
import { labelledField } from "../core/metrics-catalogue.ts";
import { type Redis, redisKeys } from "../core/redis.ts";

/** CONNECTs refused so far, by limit (limits/connect-limit.ts), and connections reset at accept (core/connection-guard.ts). */
export interface ConnectRefusals {
  shedding: number;
  address: number;
  rate: number;
  pending: number;
  clientId: number;
  addressConnections: number;
  connections: number;
}

/** The `reason` label of logitrack_broker_connects_refused_total, by limit. */
const REASONS: Record<keyof ConnectRefusals, string> = {
  shedding: "shedding",
  address: "address_rate",
  rate: "rate",
  pending: "pending_auth",
  clientId: "client_id",
  addressConnections: "address_connections",
  connections: "connections",
};

export interface ConnectRefusalMetrics {
  /** no further flushes; what was counted since the last one is sent (not awaited) */
  stop(): void;
}

/**
 * Adds the broker's CONNECT refusals to the metrics hash (core/metrics-catalogue.ts), as deltas
 * every `intervalMs`: during a flood one Redis call a second, not one per refused CONNECT. Every
 * node of a cluster adds its own, so the hash holds the cluster's total. A delta is taken off
 * only once written; while Redis is away the counts wait for the next flush.
 */
export function startConnectRefusalMetrics(deps: {
  redis: Redis;
  refused: Readonly<ConnectRefusals>;
  log: Logger;
  intervalMs?: number;
}): ConnectRefusalMetrics {
  const written = Object.fromEntries(Object.keys(REASONS).map((k) => [k, 0])) as unknown as ConnectRefusals;
  let flushing = false;
  const flush = () => {
    if (flushing) return;
    const deltas = (Object.keys(REASONS) as (keyof ConnectRefusals)[])
      .map((k) => [k, deps.refused[k] - written[k]] as const)
      .filter(([, d]) => d > 0);
    if (deltas.length === 0) return;
    const p = deps.redis.pipeline();
    for (const [k, d] of deltas)
      p.hincrby(redisKeys.metrics, labelledField("broker_connects_refused", REASONS[k]), d);
    flushing = true;
    p.exec()
      .then(() => {
        for (const [k, d] of deltas) written[k] += d;
      })
      .catch((err: unknown) => deps.log.warn({ err }, "connect refusals not counted in the metrics hash"))
      .finally(() => {
        flushing = false;
      });
  };
  const timer = setInterval(flush, deps.intervalMs ?? 1000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      flush();
    },
  };
}
