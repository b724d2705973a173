/**
 * Every pipeline metric with its Prometheus HELP, in one place. The broker, the bridge and the worker
 * run in processes of their own (and API replicas are several) and count in one Redis hash (`redisKeys.metrics`, core/redis.ts) under
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
  bridge_live_stale: {
    kind: "counter",
    help:
      "live-state updates refused: once per vehicle and bridge flush whose newest fix was older than the live position " +
      "(stored, marker not moved); late fixes one by one are worker_anomalies{kind=late}",
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
  broker_refused: {
    kind: "labelled",
    help: "MQTT connections and messages the embedded broker refused: client_id (an id not naming its account), fix_rate, ack_rate",
  },
  teltonika_tcp_packets: {
    kind: "counter",
    help: "Teltonika AVL packets taken over TCP and acknowledged with their record count",
  },
  teltonika_tcp_refused: {
    kind: "labelled",
    help: "Teltonika TCP packets or connections refused, by reason (crc: no reply, the device resends; unknown_imei, bad_stream, oversized: connection closed)",
  },
  osmand_requests: {
    kind: "labelled",
    help: "OsmAnd (Traccar Client) HTTP requests, by answer: queued (200), rejected (400, in the dead letter), key_refused (403: no, unknown or rotated device key), address_limited (429: too many refused keys from the address), rate_limited (429: the per-vehicle request limit), too_large (413: body beyond twice MAX_PAYLOAD_BYTES), headers_too_large (431)",
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
  worker_jobs_coalesced: {
    kind: "counter",
    help: "queued jobs committed in the transaction of the job before them (WORKER_COALESCE_MAX_FIXES)",
    always: true,
  },
  worker_insert_ms_total: { kind: "counter", help: "milliseconds spent committing batches", always: true },
  worker_anomalies: {
    kind: "labelled",
    help:
      "fixes the worker recorded as late (older than a fix of the vehicle that arrived before it), duplicate or " +
      "clock-skewed, one per fix, by kind",
  },
  worker_geofence_events: {
    kind: "counter",
    help: "geofence event messages published after commit (enter, exit, retractions)",
  },
  worker_alert_phases: {
    kind: "counter",
    help: "alert episode phases published after commit (start, end, retracted)",
  },
  worker_alert_notify_failures: {
    kind: "counter",
    help: "calls of the alert notifier that failed (their alerts stay in alert_outbox and are retried)",
  },
  worker_replays: {
    kind: "counter",
    help: "vehicles whose trips, stops and events were derived again after late fixes",
  },
  worker_replays_skipped: {
    kind: "counter",
    help: "vehicles whose late fixes fall before the retained history: stored, not derived again",
  },
  worker_daily_rows: {
    kind: "labelled",
    help:
      "daily rollup rows written: appended (added up by the worker from the tracks it read) or computed " +
      "(read back from the stored fixes: late data, replays, a vehicle's first batch, or a row that did not " +
      "end where the worker's track began)",
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
  broker_connects_refused: {
    kind: "labelled",
    help: "MQTT CONNECTs refused before any credential lookup, by limit (shedding, address_rate, rate, pending_auth, client_id), and connections reset when accepted (address_connections, connections)",
  },
  broker_shedding: {
    kind: "counter",
    help: "times the embedded broker started shedding load (a BROKER_SHED_* measure at its threshold: sockets not read, CONNECTs refused with CONNACK 3)",
    always: true,
  },
  broker_sockets_paused: {
    kind: "counter",
    help: "client sockets the embedded broker stopped reading while shedding load (read again once it stops)",
    always: true,
  },
  broker_shed_disconnects: {
    kind: "counter",
    help: "clients the embedded broker disconnected while shedding load, not read for BROKER_SHED_DISCONNECT_MS (their devices resend)",
    always: true,
  },
  api_login_refused: {
    kind: "labelled",
    help: "logins refused before the password check, by reason (address: per-address limit, account: account backoff)",
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
  brokersShedding: {
    name: "logitrack_broker_shedding",
    help: "embedded broker nodes shedding load now (BROKER_SHED_*: sockets not read, CONNACK 3), from their heartbeats",
  },
  wsClients: { name: "logitrack_ws_clients", help: "live WebSocket clients connected to this API process" },
  wsDropped: {
    name: "logitrack_ws_dropped_total",
    help: "live WebSocket clients dropped for not draining their socket",
  },
  wsRefused: {
    name: "logitrack_ws_refused_total",
    help: "live WebSocket sockets refused or closed by a limit, by reason (origin, sockets, sockets_per_user, message_rate)",
  },
  connectionsRefused: {
    name: "logitrack_api_connections_refused_total",
    help: "HTTP connections reset when accepted, by limit (address: HTTP_MAX_CONNECTIONS_PER_ADDRESS, total: HTTP_MAX_CONNECTIONS)",
  },
  queryTimeouts: {
    name: "logitrack_api_query_timeouts_total",
    help: "API queries cancelled by API_STATEMENT_TIMEOUT_MS (answered 503 E_QUERY_TIMEOUT)",
  },
} as const;

/** Prefix of the API process's default metrics (prom-client's collectDefaultMetrics). */
export const API_PROCESS_PREFIX = `${METRIC_PREFIX}api_`;
