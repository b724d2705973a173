import type pg from "pg";
import type { Logger } from "../core/logger.ts";
import { type PartitionUnit, partitionStart } from "./partitions.ts";

const DAY_MS = 86_400_000;

function nextStart(start: number, unit: PartitionUnit): number {
  const d = new Date(start);
  return unit === "day" ? start + DAY_MS : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** Parses `vehicle_locations_pYYYYMMDD` / `_pYYYYMM` back to the partition's UTC start. */
export function partitionNameStart(name: string): number | undefined {
  const m = /^vehicle_locations_p(\d{4})(\d{2})(\d{2})?$/.exec(name);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, m[3] ? Number(m[3]) : 1);
}

export interface MaintenanceResult {
  created: number;
  dropped: string[];
}

/**
 * Housekeeping for vehicle_locations: partitions for today and `ahead` units are created in
 * advance; partitions that end before the retention window are dropped (a partition drop, never
 * a bulk DELETE: no bloat, no long locks).
 */
export async function maintainPartitions(
  pool: pg.Pool,
  opts: { unit: PartitionUnit; ahead: number; retentionDays: number; now?: number },
  log: Logger,
): Promise<MaintenanceResult> {
  const now = opts.now ?? Date.now();
  let created = 0;
  let start = partitionStart(now, opts.unit);
  for (let i = 0; i <= opts.ahead; i++) {
    const r = await pool.query<{ existed: boolean }>(
      `SELECT to_regclass('vehicle_locations_p' || to_char($1::timestamptz AT TIME ZONE 'UTC', $3)) IS NOT NULL AS existed,
              ensure_location_partition($1, $2)`,
      [new Date(start), opts.unit, opts.unit === "day" ? "YYYYMMDD" : "YYYYMM"],
    );
    if (!r.rows[0]?.existed) created++;
    start = nextStart(start, opts.unit);
  }

  const cutoff = now - opts.retentionDays * DAY_MS;
  const parts = await pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'vehicle_locations'::regclass`,
  );
  const dropped: string[] = [];
  for (const { name } of parts.rows) {
    const s = partitionNameStart(name);
    if (s !== undefined && nextStart(s, opts.unit) <= cutoff) {
      await pool.query(`DROP TABLE IF EXISTS "${name}"`);
      dropped.push(name);
    }
  }
  if (created > 0 || dropped.length > 0) log.info({ created, dropped }, "partitions maintained");
  return { created, dropped };
}
