import type pg from "pg";

/**
 * A vehicle's derived rows before and after a recompute, compared by content: trips and stops by
 * their start, the daily rollup by its day. Rows are rewritten as a whole (new ids, updated_at),
 * so what counts as changed is what a report would show differently.
 */
export interface RowChanges {
  added: number;
  removed: number;
  updated: number;
  unchanged: number;
}

export const noChanges = (): RowChanges => ({ added: 0, removed: 0, updated: 0, unchanged: 0 });

export type Snapshot = Map<string, unknown[]>;

const SNAPSHOTS = {
  trips: `SELECT started_at::text AS k,
                 json_build_array(ended_at, closed_at, distance_m, max_speed_kmh, avg_speed_kmh,
                                  ST_X(start_location), ST_Y(start_location), ST_X(end_location), ST_Y(end_location)) AS v
          FROM trips WHERE vehicle_id = $1`,
  stops: `SELECT started_at::text AS k, json_build_array(ended_at, closed_at, ST_X(location), ST_Y(location)) AS v
          FROM stops WHERE vehicle_id = $1`,
  daily: `SELECT day::text AS k,
                 json_build_array(fixes, distance_m, moving_s, idle_s, moving_speed_s, gap_s, gap_distance_m,
                                  max_speed_kmh, first_fix_at, last_fix_at) AS v
          FROM daily_vehicle_stats WHERE vehicle_id = $1`,
} as const;

export type DerivedTable = keyof typeof SNAPSHOTS;
export const DERIVED_TABLES = Object.keys(SNAPSHOTS) as DerivedTable[];

export async function snapshot(
  client: pg.PoolClient,
  table: DerivedTable,
  vehicleId: string,
): Promise<Snapshot> {
  const r = await client.query<{ k: string; v: unknown[] }>(SNAPSHOTS[table], [vehicleId]);
  return new Map(r.rows.map((row) => [row.k, row.v]));
}

/** Adds to `into` how `after` differs from `before`. */
export function compare(before: Snapshot, after: Snapshot, into: RowChanges): void {
  for (const [k, v] of after) {
    const old = before.get(k);
    if (old === undefined) into.added++;
    else if (sameRow(old, v)) into.unchanged++;
    else into.updated++;
  }
  for (const k of before.keys()) if (!after.has(k)) into.removed++;
}

// sums computed in another order (appended batches, or one pass) differ in the last bits
const sameValue = (a: unknown, b: unknown) =>
  typeof a === "number" && typeof b === "number"
    ? Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a))
    : a === b;
const sameRow = (a: unknown[], b: unknown[]) =>
  a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
