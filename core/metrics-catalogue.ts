/**
 * Every pipeline metric with its Prometheus HELP, in one place. The bridge and the worker run in
 * processes of their own and count in one Redis hash (`redisKeys.metrics`, core/redis.ts) under
 * these names; the API's /metrics (api/pipeline-metrics.ts) turns the hash into Prometheus text.
 * Field shapes in the hash, by kind:
 *   counter      `name`                    → logitrack_<name>_total (a name ending in _total keeps it)
 *   labelled     `name:<label>`            → logitrack_<name>_total{reason="<label>"}
 *   histogram    `name_bucket:<le>`, `name_sum`, `name_count` → histogram logitrack_<name>. Buckets
 *                are NOT cumulative in the hash: a writer increments only the smallest bucket
 *                holding the value (or +Inf); the API computes the cumulative ones.
 */
export const METRIC_PREFIX = "logitrack_";

interface PipelineMetric {
  kind: "counter" | "labelled" | "histogram";
  help: string;
  /** exported (as 0) before its first increment, so dashboards and alerts see the series */
  always?: true;
}

export const pipelineMetrics = {
  bridge_fixes_accepted: { kind: "counter", help: "fixes accepted by the bridge and queued", always: true },
  bridge_batches: { kind: "counter", help: "batches (BullMQ jobs) queued by the bridge", always: true },
  bridge_fixes_late: {
    kind: "counter",
    help: "fixes older than the vehicle's live state (stored, marker not moved)",
    always: true,
  },
  bridge_rejected: {
    kind: "labelled",
    help: "messages (or array elements) rejected by the bridge, by reason code",
  },
  bridge_ignored: {
    kind: "counter",
    help: "messages an adapter ignores on purpose (e.g. an OwnTracks lwt or transition), acknowledged",
  },
  bridge_unroutable: {
    kind: "counter",
    help: "messages from the external broker with no vehicle to store them for (unknown IMEI, foreign topic)",
  },
  worker_fixes_inserted: { kind: "counter", help: "fixes inserted into vehicle_locations", always: true },
  worker_fixes_duplicate: {
    kind: "counter",
    help: "fixes already stored (resent or retried), skipped",
    always: true,
  },
  worker_rejects_stored: { kind: "counter", help: "rejects written to the dead letter", always: true },
  worker_quarantined: {
    kind: "counter",
    help: "queued fixes or rejects PostgreSQL refused (data error), kept in the dead letter as E_STORAGE",
    always: true,
  },
  worker_batches: { kind: "counter", help: "batches committed by the worker", always: true },
  worker_insert_ms_total: { kind: "counter", help: "milliseconds spent committing batches", always: true },
  worker_anomalies: {
    kind: "labelled",
    help: "late, duplicate and clock-skewed fixes recorded by the worker, by kind",
  },
  worker_geofence_events: {
    kind: "counter",
    help: "geofence event messages published after commit (enter, exit, retractions)",
  },
  worker_replays: {
    kind: "counter",
    help: "vehicles whose trips, stops and events were derived again after late fixes",
  },
  worker_replays_skipped: {
    kind: "counter",
    help: "vehicles whose late fixes fall before the retained history: stored, not derived again",
  },
  worker_commit_ms: {
    kind: "histogram",
    help: "time from a batch's start in the worker to its commit, ms",
  },
  external_broker_kick_failures: {
    kind: "counter",
    help: "revoked devices the external broker's management API did not disconnect (EXTERNAL_BROKER_API_URL)",
    always: true,
  },
  pipeline_latency_ms: {
    kind: "histogram",
    help: "time from a fix's receipt (broker or HTTP) to its commit, ms",
  },
  notify_deliveries: {
    kind: "labelled",
    help: "notification delivery attempts (webhook, e-mail), by outcome: ok, failed (retried), dead",
  },
} as const satisfies Record<string, PipelineMetric>;

export type PipelineMetricName = keyof typeof pipelineMetrics;
type NameOf<Kind extends PipelineMetric["kind"]> = {
  [N in PipelineMetricName]: (typeof pipelineMetrics)[N]["kind"] extends Kind ? N : never;
}[PipelineMetricName];
export type CounterName = NameOf<"counter">;
export type LabelledCounterName = NameOf<"labelled">;
export type HistogramName = NameOf<"histogram">;

/** The hash field of a counter: its name, which the compiler checks against the catalogue. */
export function counterField(name: CounterName): string {
  return name;
}

/** The hash field of one label of a labelled counter, e.g. `bridge_rejected:E_BAD_JSON`. */
export function labelledField(name: LabelledCounterName, label: string): string {
  return `${name}:${label}`;
}

/** HELP of a metric named in the hash; undefined for a name the catalogue does not know. */
export function pipelineHelp(name: string): string | undefined {
  return Object.hasOwn(pipelineMetrics, name) ? pipelineMetrics[name as PipelineMetricName].help : undefined;
}

/** The counters exported before their first increment, in catalogue order. */
export const alwaysExported: readonly CounterName[] = Object.entries(pipelineMetrics)
  .filter(([, m]) => "always" in m)
  .map(([name]) => name as CounterName);

/** The API process's own metrics (api/metrics.ts): not in the hash, but exported beside it. */
export const apiMetrics = {
  queueJobs: {
    name: "logitrack_queue_jobs",
    help: "jobs (batches) in the locations-* queues (all partitions), by state",
  },
  queueBackpressure: {
    name: "logitrack_queue_backpressure",
    help: "1 while waiting batches exceed QUEUE_ALERT_DEPTH",
  },
  wsClients: { name: "logitrack_ws_clients", help: "live WebSocket clients connected to this API process" },
  wsDropped: {
    name: "logitrack_ws_dropped_total",
    help: "live WebSocket clients dropped for not draining their socket",
  },
} as const;

/** Prefix of the API process's default metrics (prom-client's collectDefaultMetrics). */
export const API_PROCESS_PREFIX = `${METRIC_PREFIX}api_`;
