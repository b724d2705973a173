import type pg from "pg";

export type PartitionUnit = "day" | "month";

/** The UTC start of the `unit` holding `t` (epoch ms). */
export function partitionStart(t: number, unit: PartitionUnit): number {
  const d = new Date(t);
  return unit === "day"
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/**
 * Which partitions of vehicle_locations exist, remembered per process by their real bounds, so
 * the hot path asks PostgreSQL only when a batch holds a time no known partition covers (a
 * truck uploading last month's buffer, or a fresh install). Bounds, not names: after a change
 * of PARTITION_INTERVAL a partition may cover less than a whole unit (sql/005).
 */
export class PartitionCache {
  private ranges: { lo: number; hi: number }[] = [];

  constructor(private readonly unit: PartitionUnit) {}

  private covered(t: number): boolean {
    return this.ranges.some((r) => r.lo <= t && t < r.hi);
  }

  /** Creates the partitions missing for these times, each in its own short transaction. */
  async ensure(pool: pg.Pool, times: Iterable<number>): Promise<number> {
    let asked = 0;
    for (const t of times) {
      if (this.covered(t)) continue;
      const r = await pool.query<{ lo: number; hi: number }>(
        `SELECT (extract(epoch FROM lo) * 1000)::float8 AS lo, (extract(epoch FROM hi) * 1000)::float8 AS hi
         FROM location_partition_for($1, $2)`,
        [new Date(t), this.unit],
      );
      asked++;
      for (const row of r.rows) this.ranges.push(row);
    }
    return asked;
  }

  /** Forget everything (a partition was dropped, or an insert found no partition). */
  clear(): void {
    this.ranges = [];
  }
}
