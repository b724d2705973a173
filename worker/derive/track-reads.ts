import type pg from "pg";
import type { MachineState, TrackFix } from "./vehicle-machine.ts";

/**
 * The reads the vehicle machine needs, each one statement for the whole batch: the stored track
 * of every vehicle from a point on, the geofences it touches, and the replay checkpoints.
 */

/**
 * Up to $3 stored fixes of each vehicle from `since` on (inclusive; null = from the first), in time
 * order, with the distance from the previous fix of the window (the fix at `since` is read only to
 * give the next one its distance) and the geofences holding it (GiST on geofences). The LIMIT
 * pages a long replay, and keeps this an index range scan per vehicle rather than a join the
 * planner pulls up over every partition.
 */
const TRACK_WINDOWS = `
SELECT w.v AS "vehicleId", (extract(epoch FROM l.recorded_at) * 1000)::float8 AS t,
       ST_Y(l.location) AS lat, ST_X(l.location) AS lng, l.speed::float8 AS speed, l.ignition,
       ST_Distance((lag(l.location) OVER seq)::geography, l.location::geography) AS d,
       -- the fix at since is there for its distance only: no geofence lookup for it
       CASE WHEN w.since IS NULL OR l.recorded_at > timestamptz 'epoch' + w.since * interval '1 millisecond'
            THEN ARRAY(SELECT g.id FROM geofences g WHERE ST_Intersects(g.polygon, l.location) ORDER BY g.id)::float8[]
            ELSE '{}' END AS fences
FROM unnest($1::text[], $2::bigint[]) AS w(v, since)
CROSS JOIN LATERAL (
  SELECT recorded_at, location, speed, ignition FROM vehicle_locations
  WHERE vehicle_id = w.v
    AND recorded_at >= COALESCE(timestamptz 'epoch' + w.since * interval '1 millisecond', '-infinity')
  ORDER BY recorded_at LIMIT $3
) l
WINDOW seq AS (PARTITION BY w.v ORDER BY l.recorded_at)
ORDER BY w.v, l.recorded_at`;

export async function readTrackWindows(
  client: pg.PoolClient,
  windows: readonly { vehicleId: string; since: number | null }[],
  limit: number,
): Promise<Map<string, TrackFix[]>> {
  const out = new Map<string, TrackFix[]>();
  if (windows.length === 0) return out;
  const r = await client.query<TrackFix & { vehicleId: string }>({
    name: "track-windows",
    text: TRACK_WINDOWS,
    values: [windows.map((w) => w.vehicleId), windows.map((w) => w.since), limit],
  });
  for (const { vehicleId, ...fix } of r.rows) {
    const list = out.get(vehicleId) ?? [];
    list.push(fix);
    out.set(vehicleId, list);
  }
  return out;
}

export interface GeofenceInfo {
  name: string;
  dwellMs: number;
}

export async function readGeofences(
  client: pg.PoolClient,
  ids: ReadonlySet<number>,
): Promise<Map<number, GeofenceInfo>> {
  const out = new Map<number, GeofenceInfo>();
  if (ids.size === 0) return out;
  const r = await client.query<{ id: number; name: string; dwell: number }>({
    name: "geofences-by-id",
    text: "SELECT id::float8 AS id, name, dwell_seconds AS dwell FROM geofences WHERE id = ANY($1::bigint[])",
    values: [[...ids]],
  });
  for (const row of r.rows) out.set(row.id, { name: row.name, dwellMs: row.dwell * 1000 });
  return out;
}

/** Per vehicle, the newest checkpoint strictly before `before` (none: replay from the start). */
export async function readCheckpoints(
  client: pg.PoolClient,
  wanted: readonly { vehicleId: string; before: number }[],
): Promise<Map<string, { at: number; state: MachineState }>> {
  const out = new Map<string, { at: number; state: MachineState }>();
  if (wanted.length === 0) return out;
  const r = await client.query<{ v: string; at: number; state: MachineState }>({
    name: "checkpoints-before",
    text: `SELECT u.v, (extract(epoch FROM c.at) * 1000)::float8 AS at, c.state
           FROM unnest($1::text[], $2::bigint[]) AS u(v, before)
           CROSS JOIN LATERAL (
             SELECT at, state FROM vehicle_checkpoints
             WHERE vehicle_id = u.v AND at < timestamptz 'epoch' + u.before * interval '1 millisecond'
             ORDER BY at DESC LIMIT 1
           ) c`,
    values: [wanted.map((w) => w.vehicleId), wanted.map((w) => w.before)],
  });
  for (const row of r.rows) out.set(row.v, { at: row.at, state: row.state });
  return out;
}
