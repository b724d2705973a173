import { alwaysExported, METRIC_PREFIX, pipelineHelp } from "../core/metrics-catalogue.ts";

/**
 * The pipeline counters that the bridge and worker keep in the Redis hash `lt:metrics`, as
 * Prometheus text. The field shapes and every metric's HELP are in core/metrics-catalogue.ts; a
 * field the catalogue does not know is still exported, by its shape, with a generic HELP.
 */
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
  for (const k of alwaysExported) counters.set(k, 0);

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
  const counterName = (n: string) => `${METRIC_PREFIX}${n.endsWith("_total") ? n : `${n}_total`}`;
  for (const [name, value] of counters) {
    const metric = counterName(name);
    out.push(
      `# HELP ${metric} ${pipelineHelp(name) ?? `pipeline counter ${name}`}`,
      `# TYPE ${metric} counter`,
    );
    out.push(`${metric} ${value}`);
  }
  for (const [name, values] of labelled) {
    const metric = counterName(name);
    out.push(
      `# HELP ${metric} ${pipelineHelp(name) ?? `pipeline counter ${name}`}`,
      `# TYPE ${metric} counter`,
    );
    for (const [label, value] of values) out.push(`${metric}{reason="${escapeLabel(label)}"} ${value}`);
  }
  for (const [name, h] of histograms) {
    const metric = `${METRIC_PREFIX}${name}`;
    out.push(
      `# HELP ${metric} ${pipelineHelp(name) ?? `pipeline histogram ${name}`}`,
      `# TYPE ${metric} histogram`,
    );
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
