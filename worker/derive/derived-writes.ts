import type pg from "pg";
import { sqlArray } from "../../core/sql-array.ts";
import { send } from "../store/pipeline.ts";
import { TS } from "./sql-time.ts";
import type { MachineState, StopOut, TripOut } from "./vehicle-machine.ts";

/**
 * Writes what a machine run emitted. A run from `since` (the fix its start state was taken at;
 * null = from the start of the history) re-emits every trip, stop and checkpoint that closes
 * after `since`, so the stored ones closed after it are replaced as a whole: a replay after late
 * data leaves no stale trip behind. An in-order run continues from the state after the newest
 * stored fix, after which nothing can have closed: it only adds (saving three deletes a batch).
 * A vehicle still in a trip after the run has no stored trip from that trip's start on, save one
 * the silence sweep wrote while it was silent (silent-trips.ts): that one is removed.
 * Nothing here is read back: in a pipelined batch the writes go out with the batch's next round
 * trip (store/pipeline.ts).
 */
export interface VehicleRun {
  vehicleId: string;
  since: number | null;
  /** a replay (or a first run): rows closed after `since` may be stored and are replaced */
  replaces: boolean;
  trips: TripOut[];
  stops: StopOut[];
  checkpoints: { at: number; state: MachineState }[];
  /** the start of the trip still in progress after the run, if any */
  openTripStart?: number | null;
}

const SINCE_MATCH = (col: string) => `(u.since IS NULL OR ${col} > ${TS("u.since")})`;

export async function writeRuns(client: pg.PoolClient, runs: readonly VehicleRun[]): Promise<void> {
  if (runs.length === 0) return;
  const replacing = runs.filter((r) => r.replaces);
  // the same two literals for the three tables
  const ids = sqlArray(replacing.map((r) => r.vehicleId));
  const since = sqlArray(replacing.map((r) => r.since));
  for (const [table, col] of replacing.length === 0
    ? []
    : ([
        ["trips", "closed_at"],
        ["stops", "closed_at"],
        ["vehicle_checkpoints", "at"],
      ] as const)) {
    await send(client, {
      name: `replace-${table}`,
      // per vehicle an index range scan (OFFSET 0: not a join over the whole table)
      text: `DELETE FROM ${table} WHERE (vehicle_id, ${col}) IN (
               SELECT x.vehicle_id, x.${col} FROM unnest($1::text[], $2::bigint[]) AS u(v, since)
               CROSS JOIN LATERAL (
                 SELECT vehicle_id, ${col} FROM ${table} WHERE vehicle_id = u.v AND ${SINCE_MATCH(col)} OFFSET 0
               ) x)`,
      values: [ids, since],
    });
  }

  const open = runs.filter((r) => r.openTripStart != null);
  if (open.length > 0) {
    await send(client, {
      name: "remove-swept-trips",
      // per vehicle an index range scan that finds nothing, unless the sweep wrote a row
      text: `DELETE FROM trips WHERE (vehicle_id, started_at) IN (
               SELECT x.vehicle_id, x.started_at FROM unnest($1::text[], $2::bigint[]) AS u(v, s)
               CROSS JOIN LATERAL (
                 SELECT vehicle_id, started_at FROM trips WHERE vehicle_id = u.v AND started_at >= ${TS("u.s")} OFFSET 0
               ) x)`,
      values: [sqlArray(open.map((r) => r.vehicleId)), sqlArray(open.map((r) => r.openTripStart))],
    });
  }

  const trips = runs.flatMap((r) => r.trips.map((t) => ({ v: r.vehicleId, t })));
  if (trips.length > 0) {
    await send(client, {
      name: "insert-trips",
      text: `INSERT INTO trips (vehicle_id, started_at, ended_at, closed_at, distance_m, max_speed_kmh, avg_speed_kmh,
                                start_location, end_location)
             SELECT u.v, ${TS("u.s")}, ${TS("u.e")}, ${TS("u.c")}, u.dist, u.maxs, u.avgs,
                    ST_SetSRID(ST_MakePoint(u.slng, u.slat), 4326), ST_SetSRID(ST_MakePoint(u.elng, u.elat), 4326)
             FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::float8[], $6::float8[], $7::float8[],
                         $8::float8[], $9::float8[], $10::float8[], $11::float8[])
               AS u(v, s, e, c, dist, maxs, avgs, slng, slat, elng, elat)
             ON CONFLICT (vehicle_id, started_at) DO UPDATE SET
               ended_at = EXCLUDED.ended_at, closed_at = EXCLUDED.closed_at, distance_m = EXCLUDED.distance_m,
               max_speed_kmh = EXCLUDED.max_speed_kmh, avg_speed_kmh = EXCLUDED.avg_speed_kmh,
               start_location = EXCLUDED.start_location, end_location = EXCLUDED.end_location`,
      values: [
        sqlArray(trips.map((x) => x.v)),
        sqlArray(trips.map((x) => x.t.start.t)),
        sqlArray(trips.map((x) => x.t.end.t)),
        sqlArray(trips.map((x) => x.t.closedAt)),
        sqlArray(trips.map((x) => x.t.distanceM)),
        sqlArray(trips.map((x) => x.t.maxSpeedKmh)),
        sqlArray(trips.map((x) => x.t.avgSpeedKmh)),
        sqlArray(trips.map((x) => x.t.start.lng)),
        sqlArray(trips.map((x) => x.t.start.lat)),
        sqlArray(trips.map((x) => x.t.end.lng)),
        sqlArray(trips.map((x) => x.t.end.lat)),
      ],
    });
  }

  const stops = runs.flatMap((r) => r.stops.map((s) => ({ v: r.vehicleId, s })));
  if (stops.length > 0) {
    await send(client, {
      name: "insert-stops",
      text: `INSERT INTO stops (vehicle_id, started_at, ended_at, closed_at, location)
             SELECT u.v, ${TS("u.s")}, ${TS("u.e")}, ${TS("u.c")}, ST_SetSRID(ST_MakePoint(u.lng, u.lat), 4326)
             FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::float8[], $6::float8[])
               AS u(v, s, e, c, lng, lat)
             ON CONFLICT (vehicle_id, started_at) DO UPDATE SET
               ended_at = EXCLUDED.ended_at, closed_at = EXCLUDED.closed_at, location = EXCLUDED.location`,
      values: [
        sqlArray(stops.map((x) => x.v)),
        sqlArray(stops.map((x) => x.s.start.t)),
        sqlArray(stops.map((x) => x.s.endAt)),
        sqlArray(stops.map((x) => x.s.closedAt)),
        sqlArray(stops.map((x) => x.s.start.lng)),
        sqlArray(stops.map((x) => x.s.start.lat)),
      ],
    });
  }

  const cps = runs.flatMap((r) => r.checkpoints.map((c) => ({ v: r.vehicleId, c })));
  if (cps.length > 0) {
    await send(client, {
      name: "insert-checkpoints",
      text: `INSERT INTO vehicle_checkpoints (vehicle_id, at, state)
             SELECT u.v, ${TS("u.at")}, u.state FROM unnest($1::text[], $2::bigint[], $3::jsonb[]) AS u(v, at, state)
             ON CONFLICT (vehicle_id, at) DO UPDATE SET state = EXCLUDED.state`,
      values: [
        sqlArray(cps.map((x) => x.v)),
        sqlArray(cps.map((x) => x.c.at)),
        sqlArray(cps.map((x) => JSON.stringify(x.c.state))),
      ],
    });
  }
}
