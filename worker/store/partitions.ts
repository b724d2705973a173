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

  /**
   * Creates the partitions missing for these times: one statement for all of them (one round trip
   * however many days a batch spans), asking for one time per missing unit; asked again for what
   * is still not covered (a partition made to fill a gap covers less than a unit, sql/005).
   * Returns how many statements it took.
   */
  async ensure(pool: pg.Pool, times: Iterable<number>): Promise<number> {
    const all = [...times];
    let asked = 0;
    for (;;) {
      const missing = new Map<number, Date>();
      for (const t of all) {
        const unit = partitionStart(t, this.unit);
        if (!missing.has(unit) && !this.covered(t)) missing.set(unit, new Date(t));
      }
      if (missing.size === 0) return asked;
      const r = await pool.query<{ lo: number; hi: number }>(
        `SELECT (extract(epoch FROM p.lo) * 1000)::float8 AS lo, (extract(epoch FROM p.hi) * 1000)::float8 AS hi
         FROM unnest($1::timestamptz[]) AS u(at) CROSS JOIN LATERAL location_partition_for(u.at, $2) p`,
        [[...missing.values()], this.unit],
      );
      asked++;
      for (const row of r.rows) this.ranges.push(row);
      const left = [...missing.values()].find((d) => !this.covered(d.getTime()));
      if (left) throw new Error(`no partition of vehicle_locations holds ${left.toISOString()}`);
    }
  }

  /** Forget everything (a partition was dropped, or an insert found no partition). */
  clear(): void {
    this.ranges = [];
  }
}
