import type pg from "pg";
import type { Logger } from "../core/logger.ts";
import { type PartitionUnit, partitionStart } from "./store/partitions.ts";

const DAY_MS = 86_400_000;

function nextStart(start: number, unit: PartitionUnit): number {
  const d = new Date(start);
  return unit === "day" ? start + DAY_MS : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

export interface MaintenanceResult {
  created: number;
  dropped: string[];
}

/**
 * Housekeeping for vehicle_locations: partitions for today and `ahead` units are created in
 * advance; partitions that end before the retention window are dropped (a partition drop, never
 * a bulk DELETE: no bloat, no long locks). Partitions are judged by their bounds, whatever their
 * size or name. What was derived from the dropped fixes (daily analytics, trips, stops, geofence
 * events) lives in tables of its own and stays; the replay checkpoints and anomaly records of the
 * dropped time go with it, since nothing can be replayed there any more.
 */
export async function maintainPartitions(
  pool: pg.Pool,
  opts: { unit: PartitionUnit; ahead: number; retentionDays: number; now?: number },
  log: Logger,
): Promise<MaintenanceResult> {
  const now = opts.now ?? Date.now();
  const count = async () =>
    (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM location_partitions")).rows[0]?.n ?? 0;
  const before = await count();
  let start = partitionStart(now, opts.unit);
  for (let i = 0; i <= opts.ahead; i++) {
    await pool.query("SELECT location_partition_for($1, $2)", [new Date(start), opts.unit]);
    start = nextStart(start, opts.unit);
  }
  const created = (await count()) - before;

  const cutoff = new Date(now - opts.retentionDays * DAY_MS);
  const old = await pool.query<{ name: string }>(
    "SELECT name FROM location_partitions WHERE hi <= $1 ORDER BY lo",
    [cutoff],
  );
  const dropped: string[] = [];
  for (const { name } of old.rows) {
    // a SQL function quotes the name (format %I): no SQL text is built here (sql/007)
    const r = await pool.query<{ dropped: boolean }>("SELECT drop_location_partition($1) AS dropped", [name]);
    if (r.rows[0]?.dropped) dropped.push(name);
  }
  await pool.query("DELETE FROM vehicle_checkpoints WHERE at < $1", [cutoff]);
  await pool.query("DELETE FROM location_anomalies WHERE received_at < $1", [cutoff]);
  if (created > 0 || dropped.length > 0) log.info({ created, dropped }, "partitions maintained");
  return { created, dropped };
}
