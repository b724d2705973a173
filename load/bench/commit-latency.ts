import { type Redis, redisKeys } from "../../core/redis.ts";

/**
 * Broker receipt → PostgreSQL commit latency, from the worker's histogram counters in the
 * Redis metrics hash (`pipeline_latency_ms_bucket:<le>`, cumulative-free: one count per bucket).
 */
export type BucketCounts = Map<number, number>;

export async function readBuckets(redis: Redis): Promise<BucketCounts> {
  const all = await redis.hgetall(redisKeys.metrics);
  const out: BucketCounts = new Map();
  for (const [k, v] of Object.entries(all)) {
    const m = /^pipeline_latency_ms_bucket:(.+)$/.exec(k);
    if (m) out.set(m[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[1]), Number(v));
  }
  return out;
}

/** The percentile (upper bucket bound) of the counts added between two readings; undefined if none. */
export function bucketPercentile(before: BucketCounts, after: BucketCounts, p: number): number | undefined {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts.reduce((a, c) => a + c, 0);
  if (total === 0) return undefined;
  let seen = 0;
  for (let i = 0; i < bounds.length; i++) {
    seen += counts[i] as number;
    if (seen >= (p / 100) * total) return bounds[i];
  }
  return bounds[bounds.length - 1];
}
