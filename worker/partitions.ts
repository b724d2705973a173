import type pg from "pg";

export type PartitionUnit = "day" | "month";

/** The UTC start of the partition holding `t` (epoch ms). */
export function partitionStart(t: number, unit: PartitionUnit): number {
  const d = new Date(t);
  return unit === "day"
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/**
 * Which partitions of vehicle_locations exist, remembered per process so the hot path asks
 * PostgreSQL only when a batch holds a time no partition has covered yet (a truck uploading
 * last month's buffer, or a fresh install).
 */
export class PartitionCache {
  private readonly known = new Set<number>();

  constructor(private readonly unit: PartitionUnit) {}

  /** Creates the partitions missing for these times, each in its own short transaction. */
  async ensure(pool: pg.Pool, times: Iterable<number>): Promise<number> {
    const missing = new Set<number>();
    for (const t of times) {
      const start = partitionStart(t, this.unit);
      if (!this.known.has(start)) missing.add(start);
    }
    for (const start of missing) {
      await pool.query("SELECT ensure_location_partition($1, $2)", [new Date(start), this.unit]);
      this.known.add(start);
    }
    return missing.size;
  }

  /** Forget everything (a partition was dropped, or an insert found no partition). */
  clear(): void {
    this.known.clear();
  }
}
