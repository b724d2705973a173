import type pg from "pg";
import type { Config } from "../../core/config.ts";
import { fixKey } from "../store/insert-locations.ts";
import { lockVehicles, saveMachine } from "../store/vehicle-state.ts";
import { updateDailyAnalytics } from "./daily-analytics.ts";
import { deriveRules, runFromStarts, type Start } from "./derive-vehicles.ts";
import { readFenceChanges } from "./fence-versions.ts";
import { compare, DERIVED_TABLES, noChanges, type RowChanges, snapshot } from "./row-changes.ts";
import { initialState } from "./vehicle-machine.ts";

export type RecomputeConfig = Pick<
  Config,
  | "FLEET_TZ"
  | "RETENTION_DAYS"
  | "MOVING_SPEED_KMH"
  | "STOP_MIN_SECONDS"
  | "TRIP_GAP_SECONDS"
  | "TRIP_MIN_DISTANCE_M"
>;

export interface RecomputeOptions {
  /** these vehicles only (default: every vehicle with state or registered) */
  vehicleIds?: readonly string[];
  /** compute and count, then roll back */
  dryRun?: boolean;
  now?: number;
  /** after each vehicle */
  progress?: (done: number, total: number) => void;
}

export interface RecomputeReport {
  vehicles: number;
  trips: RowChanges;
  stops: RowChanges;
  daily: RowChanges;
  events: { added: number; retracted: number };
  /** rows added, removed or updated over the four tables */
  changed: number;
  dryRun: boolean;
}

const DAY_MS = 86_400_000;

/**
 * `logitrack recompute`: what the worker derived for existing data, derived again with the
 * current rules (after a change of them, such as TRIP_GAP_SECONDS). Per vehicle, from its oldest
 * fix inside the retention window: trips, stops, checkpoints, the machine, geofence events, and
 * the daily rollup rows of the days that start inside the window. Older rows are kept (their fixes
 * may be gone), as a replay keeps them (DESIGN.md 12). One transaction per vehicle under its state
 * lock (DESIGN.md 11): a batch of the vehicle waits, then continues from the result. Events are
 * reconciled as in a replay (kept with their id when found again, deleted when the rules no longer
 * give them, left alone at a time with no known geofence version) and not published: the table
 * is the record (DESIGN.md 16).
 */
export async function recomputeDerived(
  pool: pg.Pool,
  config: RecomputeConfig,
  opts: RecomputeOptions = {},
): Promise<RecomputeReport> {
  const report: RecomputeReport = {
    vehicles: 0,
    trips: noChanges(),
    stops: noChanges(),
    daily: noChanges(),
    events: { added: 0, retracted: 0 },
    changed: 0,
    dryRun: opts.dryRun ?? false,
  };
  const retainedFrom = (opts.now ?? Date.now()) - config.RETENTION_DAYS * DAY_MS;
  const ids =
    opts.vehicleIds ??
    (
      await pool.query<{ id: string }>(
        "SELECT vehicle_id AS id FROM vehicle_state UNION SELECT id FROM vehicles ORDER BY 1",
      )
    ).rows.map((r) => r.id);
  for (const vehicleId of ids) {
    const client = await pool.connect();
    try {
      await client.query("BEGIN; SET LOCAL jit = off");
      await recomputeVehicle(client, vehicleId, config, retainedFrom, report);
      await client.query(report.dryRun ? "ROLLBACK" : "COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
    report.vehicles++;
    opts.progress?.(report.vehicles, ids.length);
  }
  for (const t of DERIVED_TABLES) report.changed += report[t].added + report[t].removed + report[t].updated;
  report.changed += report.events.added + report.events.retracted;
  return report;
}

async function recomputeVehicle(
  client: pg.PoolClient,
  vehicleId: string,
  config: RecomputeConfig,
  retainedFrom: number,
  report: RecomputeReport,
): Promise<void> {
  await lockVehicles(client, [vehicleId]);
  const before = [];
  for (const t of DERIVED_TABLES) before.push(await snapshot(client, t, vehicleId));

  // the first fix of each fleet day inside the window: as if each arrived late, every day is recomputed
  const days = await client.query<{ t: number }>(
    `SELECT (extract(epoch FROM min(recorded_at)) * 1000)::float8 AS t FROM vehicle_locations
     WHERE vehicle_id = $1 AND recorded_at >= $2 GROUP BY (recorded_at AT TIME ZONE $3)::date ORDER BY 1`,
    [vehicleId, new Date(retainedFrom), config.FLEET_TZ],
  );
  const first = days.rows[0]?.t;
  if (first !== undefined) {
    await updateDailyAnalytics(client, new Set(days.rows.map((d) => fixKey(vehicleId, d.t))), {
      fleetTz: config.FLEET_TZ,
      movingSpeedKmh: config.MOVING_SPEED_KMH,
      gapSeconds: config.TRIP_GAP_SECONDS,
      retainedFrom,
    });
    const { head } = await readFenceChanges(client, null);
    const start: Start = { state: initialState(), since: first - 1, replaces: true };
    const { events } = await runFromStarts(
      client,
      new Map([[vehicleId, start]]),
      deriveRules(config, retainedFrom),
    );
    start.state.fenceSeq = head;
    await saveMachine(client, vehicleId, start.state);
    report.events.added += events.inserted.length;
    report.events.retracted += events.retracted.length;
  }

  for (const [i, t] of DERIVED_TABLES.entries())
    compare(before[i] as Map<string, unknown[]>, await snapshot(client, t, vehicleId), report[t]);
}
