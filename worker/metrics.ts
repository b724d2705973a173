import type { AlertMessage } from "../core/alerts.ts";
import type { EventMessage } from "../core/events.ts";
import type { Fix } from "../core/fix.ts";
import { counterField, type HistogramName, labelledField } from "../core/metrics-catalogue.ts";
import { channelOf, type Redis, redisKeys } from "../core/redis.ts";
import { ANOMALY_KINDS, type AnomalyKind } from "./derive/anomalies.ts";

/**
 * The worker's fields in the Redis metrics hash (`redisKeys.metrics`), which the API serves on
 * /metrics. Names and HELP texts are the catalogue's (core/metrics-catalogue.ts): a name missing
 * there fails type-checking here.
 */
const FIELDS = {
  fixesInserted: counterField("worker_fixes_inserted"),
  fixesDuplicate: counterField("worker_fixes_duplicate"),
  rejectsStored: counterField("worker_rejects_stored"),
  anomalies: (kind: AnomalyKind) => labelledField("worker_anomalies", kind),
  geofenceEvents: counterField("worker_geofence_events"),
  alertPhases: counterField("worker_alert_phases"),
  alertNotifyFailures: counterField("worker_alert_notify_failures"),
  replays: counterField("worker_replays"),
  replaysSkipped: counterField("worker_replays_skipped"),
  dailyRows: (path: "appended" | "computed") => labelledField("worker_daily_rows", path),
  batches: counterField("worker_batches"),
  jobsCoalesced: counterField("worker_jobs_coalesced"),
  insertMsTotal: counterField("worker_insert_ms_total"),
  quarantined: counterField("worker_quarantined"),
  /** histograms (histogramFields) */
  commitMs: "worker_commit_ms" satisfies HistogramName,
  pipelineLatencyMs: "pipeline_latency_ms" satisfies HistogramName,
} as const;

/** What a batch's transaction wrote, counted after its COMMIT. */
export interface BatchCounts {
  inserted: number;
  duplicates: number;
  rejected: number;
  anomalies: Record<AnomalyKind, number>;
  /** the geofence event changes, for the events channel */
  messages: EventMessage[];
  /** the alert episodes' new phases, for the events channel too */
  alerts: AlertMessage[];
  /** of them, those queued for the notifier (alert_outbox) */
  queued: number;
  /** vehicles whose machine re-ran from a checkpoint */
  replayed: number;
  /** vehicles whose late fixes predate any replayable point */
  skipped: number;
  /** daily rollup rows written, and of them those the worker added up from its tracks */
  dailyRows: { written: number; appended: number };
}

/**
 * After COMMIT, one pipeline: the batch's geofence events and alert phases on the events channel (at most once,
 * event-messages.ts), its counters, and the commit and end-to-end latency histograms (from the
 * bridge's receipt of each fix to the commit).
 */
export async function publishCommitted(
  redis: Redis,
  counts: BatchCounts,
  timing: { started: number; committed: number; fixes: readonly Fix[]; jobs?: number },
): Promise<void> {
  const { inserted, duplicates, rejected, anomalies, messages } = counts;
  const { started, committed } = timing;
  const p = redis.pipeline();
  const stream = [...messages, ...counts.alerts];
  if (stream.length > 0) p.publish(channelOf(redis, redisKeys.eventsChannel), JSON.stringify(stream));
  p.hincrby(redisKeys.metrics, FIELDS.fixesInserted, inserted);
  if (duplicates > 0) p.hincrby(redisKeys.metrics, FIELDS.fixesDuplicate, duplicates);
  if (rejected > 0) p.hincrby(redisKeys.metrics, FIELDS.rejectsStored, rejected);
  for (const kind of ANOMALY_KINDS) {
    const n = anomalies[kind];
    if (n > 0) p.hincrby(redisKeys.metrics, FIELDS.anomalies(kind), n);
  }
  if (messages.length > 0) p.hincrby(redisKeys.metrics, FIELDS.geofenceEvents, messages.length);
  if (counts.alerts.length > 0) p.hincrby(redisKeys.metrics, FIELDS.alertPhases, counts.alerts.length);
  if (counts.replayed > 0) p.hincrby(redisKeys.metrics, FIELDS.replays, counts.replayed);
  if (counts.skipped > 0) p.hincrby(redisKeys.metrics, FIELDS.replaysSkipped, counts.skipped);
  const { written, appended } = counts.dailyRows;
  if (appended > 0) p.hincrby(redisKeys.metrics, FIELDS.dailyRows("appended"), appended);
  if (written > appended) p.hincrby(redisKeys.metrics, FIELDS.dailyRows("computed"), written - appended);
  p.hincrby(redisKeys.metrics, FIELDS.batches, 1);
  if ((timing.jobs ?? 1) > 1) p.hincrby(redisKeys.metrics, FIELDS.jobsCoalesced, (timing.jobs ?? 1) - 1);
  p.hincrby(redisKeys.metrics, FIELDS.insertMsTotal, committed - started);
  const latencies = [
    ...histogramFields(FIELDS.commitMs, [committed - started]),
    ...histogramFields(
      FIELDS.pipelineLatencyMs,
      timing.fixes.map((f) => committed - f.receivedAt),
    ),
  ];
  for (const [field, n] of latencies) p.hincrby(redisKeys.metrics, field, n);
  await p.exec();
}

/** Alert phases a wall-clock sweep committed (derive/presence-alerts.ts): on the events channel, counted. */
export async function publishSweptAlerts(redis: Redis, alerts: readonly AlertMessage[]): Promise<void> {
  if (alerts.length === 0) return;
  await redis
    .pipeline()
    .publish(channelOf(redis, redisKeys.eventsChannel), JSON.stringify(alerts))
    .hincrby(redisKeys.metrics, FIELDS.alertPhases, alerts.length)
    .exec();
}

/** A failed call of the alert notifier (alert-outbox.ts). */
export async function countNotifyFailure(redis: Redis): Promise<void> {
  await redis.hincrby(redisKeys.metrics, FIELDS.alertNotifyFailures, 1);
}

/** An item refused by PostgreSQL and kept in the dead letter as E_STORAGE (quarantine.ts). */
export async function countQuarantined(redis: Redis): Promise<void> {
  await redis.hincrby(redisKeys.metrics, FIELDS.quarantined, 1);
}

/**
 * Observations for a histogram kept in the Redis metrics hash, in the shape the API's /metrics
 * reads (api/pipeline-metrics.ts): `<name>_bucket:<le>` counts the values whose smallest bucket
 * is `le` (not cumulative: one HINCRBY per bucket hit per batch), plus `<name>_sum` and `<name>_count`.
 */
export const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 60_000] as const;

export function histogramFields(name: string, values: readonly number[]): Map<string, number> {
  const out = new Map<string, number>();
  if (values.length === 0) return out;
  let sum = 0;
  for (const v of values) {
    const le = LATENCY_BUCKETS_MS.find((b) => v <= b);
    const field = `${name}_bucket:${le ?? "+Inf"}`;
    out.set(field, (out.get(field) ?? 0) + 1);
    sum += v;
  }
  out.set(`${name}_sum`, Math.round(sum));
  out.set(`${name}_count`, values.length);
  return out;
}
