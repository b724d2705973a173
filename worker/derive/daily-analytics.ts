import type pg from "pg";
import { parseFixKey } from "../store/insert-locations.ts";

/**
 * Daily analytics per vehicle and fleet day (FLEET_TZ), kept in the rollup table
 * daily_vehicle_stats. Every figure is a sum or a maximum over the day's segments (consecutive
 * fixes in recorded_at order, both inside the day):
 *   distance   geodesic (ST_Distance on geography: the WGS 84 spheroid) from one fix to the next,
 *              movement only: a segment counts when the fix it ends at is in motion (ignition not
 *              off, its reported speed, else the segment's distance / time, >= MOVING_SPEED_KMH),
 *              the rule the trips use (isMovementStep in vehicle-machine.ts); jitter while
 *              parked or waiting adds nothing
 *   speed v    the fix's reported speed, else the segment's distance / time
 *   moving     v >= MOVING_SPEED_KMH and ignition not off: the segment's time is moving time
 *   idle       ignition on and v below it: idle time
 *   avg speed  time-weighted v over moving time; max speed: the largest v
 *   gap        a segment longer than TRIP_GAP_SECONDS is a silence: nothing is known of it, so
 *              it is neither moving nor idle, its distance is not in `distance` and gives no v;
 *              its time and straight-line distance are kept apart (gap_s, gap_distance_m)
 * A segment crossing midnight belongs to neither day (a few hundred metres a day at most).
 *
 * Being sums over segments, a day is extended by appending: a batch whose fixes all follow the
 * row's last fix only reads the segments from that fix on (a few rows). A batch with a fix older
 * than the row's last fix (late data) recomputes the whole day from vehicle_locations. The row
 * outlives the day's partitions, so retention does not touch it; a day that retention has
 * already cut short is never recomputed from what is left of it.
 *
 * BENCHMARKS.md ("Analytics rollup vs materialized view") measured this against a materialized
 * view of the same aggregate refreshed CONCURRENTLY.
 */

/**
 * The aggregate over a `pts` relation (vehicle_id, day, anchor, recorded_at, location, speed,
 * ignition, next_at, next_location, next_speed, next_ignition, gap_after: TRIP_GAP_SECONDS) into one row per (vehicle_id,
 * day, anchor). With an anchor (append), the anchor fix itself is not counted again. `minSpeed`
 * is a parameter or a literal. Shared with the benchmark's materialized view so both compute the
 * same thing.
 */
export function dailyAggregateSql(minSpeed: string): string {
  return `seg AS (
  SELECT pts.*, extract(epoch FROM next_at - recorded_at)::float8 AS dt,
         ST_Distance(location::geography, next_location::geography) AS d,
         COALESCE(extract(epoch FROM next_at - recorded_at) > gap_after, false) AS silent
  FROM pts
), fix AS (
  SELECT seg.*, COALESCE(speed, CASE WHEN dt > 0 AND NOT silent THEN d / dt * 3.6 END) AS v,
         (anchor IS NULL OR recorded_at > anchor) AS fresh,
         -- isMovementStep of the fix the segment ends at
         (next_ignition IS DISTINCT FROM false
           AND COALESCE(next_speed, CASE WHEN dt > 0 AND NOT silent THEN d / dt * 3.6 END, 0) >= ${minSpeed}) AS moved
  FROM seg
), agg AS (
  SELECT vehicle_id, day, anchor,
         (count(*) FILTER (WHERE fresh))::int AS fixes,
         COALESCE(sum(d) FILTER (WHERE NOT silent AND moved), 0) AS distance_m,
         COALESCE(sum(dt) FILTER (WHERE NOT silent AND v >= ${minSpeed} AND ignition IS DISTINCT FROM false), 0) AS moving_s,
         COALESCE(sum(dt) FILTER (WHERE NOT silent AND ignition AND COALESCE(v, 0) < ${minSpeed}), 0) AS idle_s,
         COALESCE(sum(v * dt) FILTER (WHERE NOT silent AND v >= ${minSpeed} AND ignition IS DISTINCT FROM false), 0) AS moving_speed_s,
         COALESCE(sum(dt) FILTER (WHERE silent), 0) AS gap_s,
         COALESCE(sum(d) FILTER (WHERE silent), 0) AS gap_distance_m,
         max(v) AS max_speed_kmh,
         min(recorded_at) FILTER (WHERE fresh) AS first_fix_at,
         max(recorded_at) AS last_fix_at
  FROM fix GROUP BY vehicle_id, day, anchor
)`;
}

/**
 * $1 vehicle ids, $2 recorded_at (ms) of the inserted fixes, $3 FLEET_TZ, $4 moving speed, $5 retained from,
 * $6 TRIP_GAP_SECONDS.
 * The OFFSET 0 keep each lookup a per-vehicle-day index probe: without them the planner pulled the
 * lateral reads up into a hash join over every partition (EXPLAIN ANALYZE: seq scans of the whole
 * history for a batch that appends one fix per vehicle).
 */
const UPDATE_DAYS = `
WITH new AS (
  SELECT u.v AS vehicle_id, timestamptz 'epoch' + u.t * interval '1 millisecond' AS t
  FROM unnest($1::text[], $2::bigint[]) AS u(v, t)
), days AS (
  SELECT vehicle_id, (t AT TIME ZONE $3)::date AS day, min(t) AS first_new FROM new GROUP BY 1, 2
), plan AS (
  SELECT d.vehicle_id, d.day, o.*,
         d.day::timestamp AT TIME ZONE $3 AS lo, (d.day + 1)::timestamp AT TIME ZONE $3 AS hi,
         CASE WHEN o.o_last_fix_at < d.first_new THEN o.o_last_fix_at END AS anchor
  FROM days d LEFT JOIN LATERAL (
    SELECT s.fixes AS o_fixes, s.distance_m AS o_distance_m, s.moving_s AS o_moving_s, s.idle_s AS o_idle_s,
           s.moving_speed_s AS o_moving_speed_s, s.max_speed_kmh AS o_max_speed_kmh,
           s.gap_s AS o_gap_s, s.gap_distance_m AS o_gap_distance_m,
           s.first_fix_at AS o_first_fix_at, s.last_fix_at AS o_last_fix_at
    FROM daily_vehicle_stats s WHERE s.vehicle_id = d.vehicle_id AND s.day = d.day OFFSET 0
  ) o ON true
), todo AS (
  SELECT * FROM plan WHERE anchor IS NOT NULL OR o_fixes IS NULL OR lo >= $5
), pts AS (
  SELECT p.vehicle_id, p.day, p.anchor, l.recorded_at, l.location, l.speed, l.ignition,
         lead(l.recorded_at) OVER seq AS next_at, lead(l.location) OVER seq AS next_location,
         lead(l.speed) OVER seq AS next_speed, lead(l.ignition) OVER seq AS next_ignition,
         $6::float8 AS gap_after
  FROM todo p CROSS JOIN LATERAL (
    SELECT recorded_at, location, speed, ignition FROM vehicle_locations
    WHERE vehicle_id = p.vehicle_id AND recorded_at >= COALESCE(p.anchor, p.lo) AND recorded_at < p.hi
    OFFSET 0
  ) l
  WINDOW seq AS (PARTITION BY p.vehicle_id, p.day ORDER BY l.recorded_at)
), ${dailyAggregateSql("$4")}
INSERT INTO daily_vehicle_stats AS s
  (vehicle_id, day, fixes, distance_m, moving_s, idle_s, moving_speed_s, gap_s, gap_distance_m, max_speed_kmh,
   first_fix_at, last_fix_at, updated_at)
SELECT a.vehicle_id, a.day,
       a.fixes + CASE WHEN a.anchor IS NULL THEN 0 ELSE o.o_fixes END,
       a.distance_m + CASE WHEN a.anchor IS NULL THEN 0 ELSE o.o_distance_m END,
       a.moving_s + CASE WHEN a.anchor IS NULL THEN 0 ELSE o.o_moving_s END,
       a.idle_s + CASE WHEN a.anchor IS NULL THEN 0 ELSE o.o_idle_s END,
       a.moving_speed_s + CASE WHEN a.anchor IS NULL THEN 0 ELSE o.o_moving_speed_s END,
       a.gap_s + CASE WHEN a.anchor IS NULL THEN 0 ELSE o.o_gap_s END,
       a.gap_distance_m + CASE WHEN a.anchor IS NULL THEN 0 ELSE o.o_gap_distance_m END,
       CASE WHEN a.anchor IS NULL THEN a.max_speed_kmh ELSE greatest(a.max_speed_kmh, o.o_max_speed_kmh) END,
       CASE WHEN a.anchor IS NULL THEN a.first_fix_at ELSE o.o_first_fix_at END,
       a.last_fix_at, now()
FROM agg a JOIN todo o ON o.vehicle_id = a.vehicle_id AND o.day = a.day
ON CONFLICT (vehicle_id, day) DO UPDATE SET
  fixes = EXCLUDED.fixes, distance_m = EXCLUDED.distance_m, moving_s = EXCLUDED.moving_s,
  idle_s = EXCLUDED.idle_s, moving_speed_s = EXCLUDED.moving_speed_s, gap_s = EXCLUDED.gap_s,
  gap_distance_m = EXCLUDED.gap_distance_m, max_speed_kmh = EXCLUDED.max_speed_kmh,
  first_fix_at = EXCLUDED.first_fix_at, last_fix_at = EXCLUDED.last_fix_at, updated_at = EXCLUDED.updated_at`;

export interface AnalyticsOptions {
  fleetTz: string;
  movingSpeedKmh: number;
  /** TRIP_GAP_SECONDS: a longer segment is a silence */
  gapSeconds: number;
  /** days starting before this (epoch ms) may have lost fixes to retention: never recomputed whole */
  retainedFrom: number;
}

/** Updates the rows of the vehicle-days that these newly stored fixes fall in; returns how many. */
export async function updateDailyAnalytics(
  client: pg.PoolClient,
  inserted: ReadonlySet<string>,
  opts: AnalyticsOptions,
): Promise<number> {
  if (inserted.size === 0) return 0;
  const ids: string[] = [];
  const times: number[] = [];
  for (const key of inserted) {
    const f = parseFixKey(key);
    ids.push(f.vehicleId);
    times.push(f.recordedAt);
  }
  const r = await client.query({
    name: "daily-analytics",
    text: UPDATE_DAYS,
    values: [ids, times, opts.fleetTz, opts.movingSpeedKmh, new Date(opts.retainedFrom), opts.gapSeconds],
  });
  return r.rowCount ?? 0;
}
