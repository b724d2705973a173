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

export interface CommitLatency {
  /** messages published in the window that are stored */
  messages: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * Exact publish→commit latency of the messages published in [fromMs, toMs): each message's last
 * fix carries its publish time as `recordedAt` (load/bench/publisher.ts), and PostgreSQL keeps
 * each transaction's commit time (`track_commit_timestamp`, on in the bench's own services). A
 * message's fixes are consecutive milliseconds of one vehicle, so its last fix is the one with no
 * fix 1 ms later. Read after the system has drained, so slow commits are counted, not missed.
 */
export async function exactCommitLatency(
  pool: import("pg").Pool,
  fromMs: number,
  toMs: number,
): Promise<CommitLatency | undefined> {
  const { rows } = await pool.query<{ n: number; p50: number; p99: number; max: number }>(
    `WITH fix AS (
       SELECT recorded_at, pg_xact_commit_timestamp(xmin) AS committed,
              lead(recorded_at) OVER (PARTITION BY vehicle_id ORDER BY recorded_at) AS next
       FROM vehicle_locations
       WHERE recorded_at >= to_timestamp($1 / 1000.0) AND recorded_at < to_timestamp($2 / 1000.0) + interval '1 minute'),
     msg AS (
       SELECT extract(epoch FROM committed - recorded_at) * 1000 AS ms FROM fix
       WHERE recorded_at < to_timestamp($2 / 1000.0)
         AND (next IS NULL OR next > recorded_at + interval '1 millisecond'))
     SELECT count(*)::int AS n,
            percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::float8 AS p50,
            percentile_disc(0.99) WITHIN GROUP (ORDER BY ms)::float8 AS p99,
            max(ms)::float8 AS max
     FROM msg`,
    [fromMs, toMs],
  );
  const r = rows[0];
  if (!r || r.n === 0 || r.p50 === null) return undefined;
  return { messages: r.n, p50: r.p50, p99: r.p99, max: r.max };
}
