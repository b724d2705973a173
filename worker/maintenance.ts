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

export interface ReorderResult {
  /** partitions rewritten in vehicle order, with their rows */
  reordered: { name: string; rows: number; ms: number }[];
  /** a partition whose lock was not had within the lock timeout (tried again at the next run) */
  busy: string | null;
  /** closed partitions left as they are: larger than `maxBytes` */
  tooLarge: string[];
}

/** how long one run keeps starting rewrites: the hourly job's work stays bounded after an upgrade */
const REORDER_BUDGET_MS = 10 * 60_000;
const REORDER_LOCK_TIMEOUT_MS = 5_000;

/**
 * Rewrites closed partitions of vehicle_locations in vehicle order, once each, newest first
 * (sql/022_partition_reorder.sql): fixes are stored time-major, so one vehicle's day lies on a
 * page per fix until then, and on a few pages after (BENCHMARKS.md, "Day track"). A partition is
 * closed `afterHours` after its upper bound (late uploads land first). While the rewrite copies a
 * partition, writes to it wait (a batch with a late fix of that day); reads and every other day go
 * on; the swap at its end holds the table for its catalog changes. Its locks are waited for at
 * most `lockTimeoutMs`: a partition in use is left for the next run instead of queueing every
 * reader behind the rewrite. A partition larger than `maxBytes` is never rewritten (the copy needs
 * its size again on disk, and a late fix would wait minutes): at that size, hourly partitions or
 * an engine that reorders in the background is the answer (docs/scaling.md).
 */
export async function reorderClosedPartitions(
  pool: pg.Pool,
  opts: { afterHours: number; maxBytes: number; now?: number; lockTimeoutMs?: number; budgetMs?: number },
  log: Logger,
): Promise<ReorderResult> {
  const now = opts.now ?? Date.now();
  const started = performance.now();
  const result: ReorderResult = { reordered: [], busy: null, tooLarge: [] };
  const due = await pool.query<{ name: string; bytes: string }>(
    `SELECT name, pg_total_relation_size(to_regclass(quote_ident(name))) AS bytes
     FROM location_partitions WHERE NOT ordered AND hi <= $1 ORDER BY lo DESC`,
    [new Date(now - opts.afterHours * 3_600_000)],
  );
  for (const { name, bytes } of due.rows) {
    if (Number(bytes) > opts.maxBytes) {
      result.tooLarge.push(name);
      continue;
    }
    if (performance.now() - started > (opts.budgetMs ?? REORDER_BUDGET_MS)) break;
    const t0 = performance.now();
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(
        "SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', '0', true)",
        [String(opts.lockTimeoutMs ?? REORDER_LOCK_TIMEOUT_MS)],
      );
      const r = await client.query<{ rows: string | null }>("SELECT reorder_location_partition($1) AS rows", [
        name,
      ]);
      await client.query("COMMIT");
      const rows = r.rows[0]?.rows;
      if (rows !== null && rows !== undefined)
        result.reordered.push({ name, rows: Number(rows), ms: Math.round(performance.now() - t0) });
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      // lock_not_available, or a deadlock with a batch (which then goes on): the next run tries again
      const code = (err as { code?: string }).code;
      if (code !== "55P03" && code !== "40P01") throw err;
      result.busy = name;
      log.info({ partition: name }, "partition in use: its reorder waits for the next maintenance run");
      break;
    } finally {
      client.release();
    }
  }
  if (result.reordered.length > 0)
    log.info({ reordered: result.reordered }, "partitions reordered by vehicle");
  if (result.tooLarge.length > 0)
    log.warn({ partitions: result.tooLarge, maxBytes: opts.maxBytes }, "partitions too large to reorder");
  return result;
}
