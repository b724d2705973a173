import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { isBrokerHeartbeat, readHeartbeats } from "../core/heartbeat.ts";
import { API_PROCESS_PREFIX, apiMetrics } from "../core/metrics-catalogue.ts";
import type { LocationQueues } from "../core/queues.ts";
import { type Redis, redisKeys } from "../core/redis.ts";
import type { BackpressureMonitor } from "./backpressure.ts";
import type { LiveHub } from "./live-hub.ts";
import { LIVE_REFUSALS, type LiveRefusal } from "./live-limits.ts";
import { formatPipelineMetrics } from "./pipeline-metrics.ts";
import { withTimeout } from "./with-timeout.ts";

const QUEUE_STATES = ["waiting", "active", "delayed", "failed"] as const;

export interface MetricsDeps {
  redis: Redis;
  queue: LocationQueues;
  backpressure: BackpressureMonitor;
  hub: LiveHub;
  /** refusals by /ws's limits (api/live-limits.ts) */
  liveRefused: Readonly<Record<LiveRefusal, number>>;
  /** connections reset at accept (core/connection-guard.ts) */
  connectionsRefused: Readonly<Record<"address" | "total", number>>;
  /** queries PostgreSQL cancelled at the statement timeout (api/errors.ts) */
  apiCounters: { readonly queryTimeouts: number };
}

/**
 * /metrics: this API process's own metrics (a registry per app, so tests can build several),
 * the queue gauges from BullMQ, and the whole pipeline's counters from Redis (the bridge and
 * worker run in other processes; their counters meet in one hash).
 */
export function createMetrics(deps: MetricsDeps): { contentType: string; render: () => Promise<string> } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: API_PROCESS_PREFIX });

  new Gauge({
    ...apiMetrics.queueJobs,
    labelNames: ["state"],
    registers: [registry],
    async collect() {
      // Redis down: the series keep their last values; /health reports the outage
      const counts = await withTimeout(deps.queue.getJobCounts(...QUEUE_STATES), 2000).catch(() => undefined);
      for (const s of QUEUE_STATES) if (counts) this.set({ state: s }, counts[s] ?? 0);
    },
  });
  new Gauge({
    ...apiMetrics.queueBackpressure,
    registers: [registry],
    async collect() {
      this.set((await deps.backpressure.check().catch(() => deps.backpressure.alerting)) ? 1 : 0);
    },
  });
  new Gauge({
    ...apiMetrics.brokersShedding,
    registers: [registry],
    async collect() {
      // Redis down: the last value stays; /health reports the outage
      const beats = await withTimeout(readHeartbeats(deps.redis), 2000).catch(() => undefined);
      if (beats) this.set(beats.filter((b) => isBrokerHeartbeat(b) && b.shedding).length);
    },
  });
  new Gauge({
    ...apiMetrics.wsClients,
    registers: [registry],
    collect() {
      this.set(deps.hub.stats.clients);
    },
  });
  let droppedSeen = 0;
  new Counter({
    ...apiMetrics.wsDropped,
    registers: [registry],
    collect() {
      this.inc(deps.hub.stats.dropped - droppedSeen);
      droppedSeen = deps.hub.stats.dropped;
    },
  });

  const refusedSeen = Object.fromEntries(LIVE_REFUSALS.map((r) => [r, 0])) as Record<LiveRefusal, number>;
  new Counter({
    ...apiMetrics.wsRefused,
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      for (const r of LIVE_REFUSALS) {
        this.inc({ reason: r }, deps.liveRefused[r] - refusedSeen[r]);
        refusedSeen[r] = deps.liveRefused[r];
      }
    },
  });
  const connSeen = { address: 0, total: 0 };
  new Counter({
    ...apiMetrics.connectionsRefused,
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      for (const r of ["address", "total"] as const) {
        this.inc({ reason: r }, deps.connectionsRefused[r] - connSeen[r]);
        connSeen[r] = deps.connectionsRefused[r];
      }
    },
  });
  let timeoutsSeen = 0;
  new Counter({
    ...apiMetrics.queryTimeouts,
    registers: [registry],
    collect() {
      this.inc(deps.apiCounters.queryTimeouts - timeoutsSeen);
      timeoutsSeen = deps.apiCounters.queryTimeouts;
    },
  });

  return {
    contentType: registry.contentType,
    async render() {
      const [own, fields] = await Promise.all([
        registry.metrics(),
        withTimeout(deps.redis.hgetall(redisKeys.metrics), 2000, "pipeline counters"),
      ]);
      return own + formatPipelineMetrics(fields);
    },
  };
}
