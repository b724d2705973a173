import type pg from "pg";
import { sqlArray } from "../../core/sql-array.ts";
import type { MachineState, TrackFix } from "./vehicle-machine.ts";

/**
 * The reads the vehicle machine needs, each one statement for the whole batch: the stored track
 * of every vehicle from a point on (with the geofences it touches) and the replay checkpoints;
 * the geofences' versions are read by fence-versions.ts.
 */

/**
 * Up to $3 stored fixes of each vehicle from `since` on (inclusive; null = from the first), in time
 * order, up to `until` (the vehicle's newest stored fix, when the caller knows it), with the
 * distance from the previous fix of the window (the fix at `since` is read only to give the next
 * one its distance and position) and, judged against the geofences as they were at the fix's
 * time (geofence_versions, GiST): the geofences holding it, and the geofences whose
 * polygon was drawn since the previous fix and held that one (where the vehicle stood when the
 * boundary was drawn). The LIMIT pages a long replay, and keeps this an index range scan per
 * vehicle rather than a join the planner pulls up over every partition. `until` lets PostgreSQL
 * skip, per vehicle, the partitions after its newest fix: without it every read also probed each
 * empty partition made ahead (PARTITIONS_AHEAD), a cost that grew with the setting (BENCHMARKS.md,
 * "The track read and the partitions made ahead"). The other numeric fields
 * (and, with $4, the device attributes) are there for alert thresholds (alert-machine.ts); `day`,
 * the fix's fleet day in $5 (FLEET_TZ) as PostgreSQL reckons it, for the daily rollup's appends
 * (day-appends.ts).
 */
export const TRACK_WINDOWS = `
SELECT x.v AS "vehicleId", (extract(epoch FROM x.recorded_at) * 1000)::float8 AS t,
       ST_Y(x.location) AS lat, ST_X(x.location) AS lng, x.speed::float8 AS speed, x.ignition,
       x.heading::float8 AS heading, x.altitude::float8 AS altitude, x.accuracy::float8 AS accuracy, x.odometer,
       x.attributes, ((x.recorded_at AT TIME ZONE $5)::date - date '1970-01-01') AS day,
       ST_Distance(x.prev_location::geography, x.location::geography) AS d,
       CASE WHEN x.judged THEN ARRAY(
         SELECT g.geofence_id FROM geofence_versions g
         WHERE ST_Intersects(g.polygon, x.location)
           AND g.valid_from <= x.recorded_at AND (g.valid_to IS NULL OR x.recorded_at < g.valid_to)
         ORDER BY g.geofence_id)::float8[] ELSE '{}' END AS fences,
       CASE WHEN x.judged AND x.prev_at IS NOT NULL THEN ARRAY(
         SELECT g.geofence_id FROM geofence_versions g
         WHERE g.shape_since > x.prev_at AND g.shape_since <= x.recorded_at
           AND g.valid_from <= x.recorded_at AND (g.valid_to IS NULL OR x.recorded_at < g.valid_to)
           AND ST_Intersects(g.polygon, x.prev_location)
         ORDER BY g.geofence_id)::float8[] ELSE '{}' END AS "insideAtChange"
FROM (
  SELECT w.v, l.recorded_at, l.location, l.speed, l.ignition, l.heading, l.altitude, l.accuracy, l.odometer,
         l.attributes,
         -- the fix at since is there for its distance and position only: not judged again
         (w.since IS NULL OR l.recorded_at > timestamptz 'epoch' + w.since * interval '1 millisecond') AS judged,
         lag(l.location) OVER seq AS prev_location, lag(l.recorded_at) OVER seq AS prev_at
  FROM unnest($1::text[], $2::bigint[], $6::bigint[]) AS w(v, since, until)
  CROSS JOIN LATERAL (
    SELECT recorded_at, location, speed, ignition, heading, altitude, accuracy, odometer,
           -- device attributes (sql/012_fix_attributes.sql), for threshold rules only ($4)
           CASE WHEN $4::boolean THEN vl.attributes END AS attributes
    FROM vehicle_locations vl
    WHERE vehicle_id = w.v
      AND recorded_at >= COALESCE(timestamptz 'epoch' + w.since * interval '1 millisecond', '-infinity')
      AND recorded_at <= COALESCE(timestamptz 'epoch' + w.until * interval '1 millisecond', 'infinity')
    ORDER BY recorded_at LIMIT $3
  ) l
  WINDOW seq AS (PARTITION BY w.v ORDER BY l.recorded_at)
) x
ORDER BY x.v, x.recorded_at`;

export async function readTrackWindows(
  client: pg.PoolClient,
  windows: readonly { vehicleId: string; since: number | null; until?: number | null }[],
  limit: number,
  withAttributes: boolean,
  fleetTz: string,
): Promise<Map<string, TrackFix[]>> {
  const out = new Map<string, TrackFix[]>();
  if (windows.length === 0) return out;
  const r = await client.query<TrackFix & { vehicleId: string }>({
    name: "track-windows",
    text: TRACK_WINDOWS,
    values: [
      sqlArray(windows.map((w) => w.vehicleId)),
      sqlArray(windows.map((w) => w.since)),
      limit,
      withAttributes,
      fleetTz,
      sqlArray(windows.map((w) => w.until ?? null)),
    ],
  });
  for (const { vehicleId, ...fix } of r.rows) {
    const list = out.get(vehicleId) ?? [];
    list.push(fix);
    out.set(vehicleId, list);
  }
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
    values: [sqlArray(wanted.map((w) => w.vehicleId)), sqlArray(wanted.map((w) => w.before))],
  });
  for (const row of r.rows) out.set(row.v, { at: row.at, state: row.state });
  return out;
}
