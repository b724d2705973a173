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
  /** rejected_messages rows older than their retention, deleted */
  rejectsDeleted: number;
}

/** rows of rejected_messages deleted per statement: short transactions, whatever the backlog */
const REJECTS_DELETE_CHUNK = 10_000;

/**
 * Housekeeping for vehicle_locations: partitions for today and `ahead` units are created in
 * advance; partitions that end before the retention window are dropped (a partition drop, never
 * a bulk DELETE: no bloat, no long locks). Partitions are judged by their bounds, whatever their
 * size or name. What was derived from the dropped fixes (daily analytics, trips, stops, geofence
 * events) lives in tables of its own and stays; the replay checkpoints and anomaly records of the
 * dropped time go with it, since nothing can be replayed there any more. The dead letter
 * (rejected_messages) is kept `rejectedRetentionDays` (REJECTED_RETENTION_DAYS; without it, as long as the history),
 * so that what a device can make the platform store is bounded in time too.
 */
export async function maintainPartitions(
  pool: pg.Pool,
  opts: {
    unit: PartitionUnit;
    ahead: number;
    retentionDays: number;
    rejectedRetentionDays?: number;
    now?: number;
  },
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
  const rejectsDeleted = await deleteOldRejects(
    pool,
    new Date(now - (opts.rejectedRetentionDays ?? opts.retentionDays) * DAY_MS),
  );
  if (created > 0 || dropped.length > 0 || rejectsDeleted > 0)
    log.info({ created, dropped, rejectsDeleted }, "partitions maintained");
  return { created, dropped, rejectsDeleted };
}

/** Deletes rejected_messages received before `cutoff`, a chunk per statement (index on received_at). */
async function deleteOldRejects(pool: pg.Pool, cutoff: Date): Promise<number> {
  let deleted = 0;
  for (;;) {
    const r = await pool.query(
      `DELETE FROM rejected_messages WHERE id IN
         (SELECT id FROM rejected_messages WHERE received_at < $1 LIMIT $2)`,
      [cutoff, REJECTS_DELETE_CHUNK],
    );
    deleted += r.rowCount ?? 0;
    if ((r.rowCount ?? 0) < REJECTS_DELETE_CHUNK) return deleted;
  }
}
