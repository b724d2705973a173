/**
 * The pipeline counters that the bridge and worker keep in the Redis hash `lt:metrics`, as
 * Prometheus text. Field names decide the metric:
 *   name                  → counter logitrack_<name>_total (a name ending in _total keeps it)
 *   name:<label>          → counter logitrack_<name>_total{reason="<label>"}
 *   name_bucket:<le>      → histogram logitrack_<name>, with name_sum and name_count. Buckets are
 *                           NOT cumulative in Redis: a writer increments only the smallest bucket
 *                           holding the value (or +Inf), one HINCRBY per observation group; the
 *                           cumulative Prometheus buckets are computed here.
 */
const PREFIX = "logitrack_";

const HELP: Record<string, string> = {
  bridge_fixes_accepted: "fixes accepted by the bridge and queued",
  bridge_batches: "batches (BullMQ jobs) queued by the bridge",
  bridge_fixes_late: "fixes older than the vehicle's live state (stored, marker not moved)",
  bridge_rejected: "messages (or array elements) rejected by the bridge, by reason code",
  worker_fixes_inserted: "fixes inserted into vehicle_locations",
  worker_fixes_duplicate: "fixes already stored (resent or retried), skipped",
  worker_rejects_stored: "rejects written to the dead letter",
  worker_quarantined:
    "queued fixes or rejects PostgreSQL refused (data error), kept in the dead letter as E_STORAGE",
  worker_batches: "batches committed by the worker",
  worker_insert_ms_total: "milliseconds spent committing batches",
  worker_commit_ms: "time from a batch's start in the worker to its commit, ms",
  pipeline_latency_ms: "time from a fix's receipt (broker or HTTP) to its commit, ms",
};

/** Always exported (as 0 before the first increment), so dashboards and alerts see the series. */
const KNOWN_COUNTERS = [
  "bridge_fixes_accepted",
  "bridge_batches",
  "bridge_fixes_late",
  "worker_fixes_inserted",
  "worker_fixes_duplicate",
  "worker_rejects_stored",
  "worker_quarantined",
  "worker_batches",
  "worker_insert_ms_total",
];

const NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const num = (v: string | undefined) => {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
};

interface Histogram {
  buckets: Map<number, number>;
  sum: number;
  count: number | undefined;
}

export function formatPipelineMetrics(fields: Record<string, string>): string {
  const counters = new Map<string, number>();
  const labelled = new Map<string, Map<string, number>>();
  const histograms = new Map<string, Histogram>();
  for (const k of KNOWN_COUNTERS) counters.set(k, 0);

  for (const [field, value] of Object.entries(fields)) {
    const bucket = /^([a-zA-Z_][a-zA-Z0-9_]*)_bucket:(\+Inf|[0-9.e+-]+)$/.exec(field);
    if (bucket) {
      const h = histogramOf(histograms, bucket[1] as string);
      const le = bucket[2] === "+Inf" ? Number.POSITIVE_INFINITY : Number(bucket[2]);
      if (!Number.isNaN(le)) h.buckets.set(le, (h.buckets.get(le) ?? 0) + num(value));
      continue;
    }
    const [name, label] = field.split(":", 2) as [string, string | undefined];
    if (!NAME_RE.test(name)) continue;
    if (label !== undefined) {
      const m = labelled.get(name) ?? new Map<string, number>();
      labelled.set(name, m);
      m.set(label, num(value));
    } else counters.set(name, num(value));
  }
  // _sum / _count of a histogram are not counters of their own
  for (const [name, h] of histograms) {
    for (const part of ["sum", "count"] as const) {
      const key = `${name}_${part}`;
      if (!counters.has(key)) continue;
      if (part === "sum") h.sum = counters.get(key) ?? 0;
      else h.count = counters.get(key);
      counters.delete(key);
    }
  }

  const out: string[] = [];
  const counterName = (n: string) => `${PREFIX}${n.endsWith("_total") ? n : `${n}_total`}`;
  for (const [name, value] of counters) {
    const metric = counterName(name);
    out.push(`# HELP ${metric} ${HELP[name] ?? `pipeline counter ${name}`}`, `# TYPE ${metric} counter`);
    out.push(`${metric} ${value}`);
  }
  for (const [name, values] of labelled) {
    const metric = counterName(name);
    out.push(`# HELP ${metric} ${HELP[name] ?? `pipeline counter ${name}`}`, `# TYPE ${metric} counter`);
    for (const [label, value] of values) out.push(`${metric}{reason="${escapeLabel(label)}"} ${value}`);
  }
  for (const [name, h] of histograms) {
    const metric = `${PREFIX}${name}`;
    out.push(`# HELP ${metric} ${HELP[name] ?? `pipeline histogram ${name}`}`, `# TYPE ${metric} histogram`);
    let cumulative = 0;
    for (const le of [...h.buckets.keys()].sort((a, b) => a - b)) {
      if (le === Number.POSITIVE_INFINITY) continue;
      cumulative += h.buckets.get(le) ?? 0;
      out.push(`${metric}_bucket{le="${le}"} ${cumulative}`);
    }
    const total = Math.max(cumulative + (h.buckets.get(Number.POSITIVE_INFINITY) ?? 0), h.count ?? 0);
    out.push(`${metric}_bucket{le="+Inf"} ${total}`, `${metric}_sum ${h.sum}`, `${metric}_count ${total}`);
  }
  return out.length ? `${out.join("\n")}\n` : "";
}

function histogramOf(map: Map<string, Histogram>, name: string): Histogram {
  let h = map.get(name);
  if (!h) {
    h = { buckets: new Map(), sum: 0, count: undefined };
    map.set(name, h);
  }
  return h;
}
