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
