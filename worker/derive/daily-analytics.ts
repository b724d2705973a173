import type pg from "pg";
import { sqlArray } from "../../core/sql-array.ts";
import { parseFixKey } from "../store/insert-locations.ts";
import type { DayAppend } from "./day-appends.ts";
import { TS } from "./sql-time.ts";

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
 * row's last fix adds the segments from that fix on. For a vehicle whose machine continues its
 * saved state the worker adds them up from the track it reads anyway (day-appends.ts); otherwise
 * this statement reads them back from that fix on (a few rows). A batch with a fix older
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
 * $1 vehicle ids, $2 recorded_at (ms) of the inserted fixes (all of them, appended or not), $3
 * FLEET_TZ, $4 moving speed, $5 retained from, $6 TRIP_GAP_SECONDS; $7-$19 the worker's day appends
 * (day-appends.ts), one element per vehicle-day. An append is added in place to a row that ends at
 * its anchor (`extended`: one index probe and an update, no speculative insert), or is the new row
 * of a day that has none (`started`); any other is computed here from the stored fixes, as the days
 * of $1 are. Answers how many rows it wrote, and how many of them were the worker's appends.
 * A day's fixes are those whose fleet day it is: where the clocks go back at midnight (America/Havana)
 * the hour after it happens twice, and [lo, hi) alone would give its first reading to the day before
 * (PostgreSQL reads the ambiguous midnight as the later instant); the read starts at first_at.
 * The OFFSET 0 keep each lookup a per-vehicle-day index probe: without them the planner pulled the
 * lateral reads up into a hash join over every partition (EXPLAIN ANALYZE: seq scans of the whole
 * history for a batch that appends one fix per vehicle).
 */
const UPDATE_DAYS = `
WITH given AS (
  SELECT date '1970-01-01' + g.day_n AS g_day, g.*
  FROM unnest($7::text[], $8::int[], $9::bigint[], $10::bigint[], $11::bigint[], $12::int[], $13::float8[],
              $14::float8[], $15::float8[], $16::float8[], $17::float8[], $18::float8[], $19::float8[])
       AS g(g_vehicle_id, day_n, g_anchor, g_first, g_last, g_fixes, g_distance_m, g_moving_s, g_idle_s,
            g_moving_speed_s, g_gap_s, g_gap_distance_m, g_max_speed_kmh)
), extended AS (
  -- a row that ends at the append's anchor: the append is added to it
  UPDATE daily_vehicle_stats s SET
    fixes = s.fixes + g.g_fixes, distance_m = s.distance_m + g.g_distance_m, moving_s = s.moving_s + g.g_moving_s,
    idle_s = s.idle_s + g.g_idle_s, moving_speed_s = s.moving_speed_s + g.g_moving_speed_s,
    gap_s = s.gap_s + g.g_gap_s, gap_distance_m = s.gap_distance_m + g.g_gap_distance_m,
    max_speed_kmh = greatest(s.max_speed_kmh, g.g_max_speed_kmh), last_fix_at = ${TS("g.g_last")}, updated_at = now()
  FROM given g
  WHERE g.g_anchor IS NOT NULL AND s.vehicle_id = g.g_vehicle_id AND s.day = g.g_day
    AND s.last_fix_at = ${TS("g.g_anchor")}
  RETURNING s.vehicle_id, s.day
), started AS (
  -- an append without an anchor is the whole day, when the day has no row yet
  INSERT INTO daily_vehicle_stats
    (vehicle_id, day, fixes, distance_m, moving_s, idle_s, moving_speed_s, gap_s, gap_distance_m, max_speed_kmh,
     first_fix_at, last_fix_at, updated_at)
  SELECT g_vehicle_id, g_day, g_fixes, g_distance_m, g_moving_s, g_idle_s, g_moving_speed_s, g_gap_s,
         g_gap_distance_m, g_max_speed_kmh, ${TS("g_first")}, ${TS("g_last")}, now()
  FROM given WHERE g_anchor IS NULL
  ON CONFLICT (vehicle_id, day) DO NOTHING
  RETURNING vehicle_id, day
), new AS (
  SELECT vehicle_id, t, (t AT TIME ZONE $3)::date AS day
  FROM (SELECT u.v AS vehicle_id, ${TS("u.t")} AS t FROM unnest($1::text[], $2::bigint[]) AS u(v, t)) u
), days AS (
  -- the days of the inserted fixes that no append took (none given, or refused: the row did not end
  -- at the anchor), computed from the stored fixes
  SELECT vehicle_id, day, min(t) AS first_new FROM new x
  WHERE NOT EXISTS (SELECT 1 FROM extended e WHERE e.vehicle_id = x.vehicle_id AND e.day = x.day)
    AND NOT EXISTS (SELECT 1 FROM started n WHERE n.vehicle_id = x.vehicle_id AND n.day = x.day)
  GROUP BY 1, 2
), plan AS (
  SELECT d.vehicle_id, d.day, o.*,
         d.day::timestamp AT TIME ZONE $3 AS lo, (d.day + 1)::timestamp AT TIME ZONE $3 AS hi,
         -- the day's first instant: its midnight, or where the midnight is lived twice (the minute
         -- before it is on the same day) up to 3 hours before the later reading PostgreSQL gives
         CASE WHEN (((d.day::timestamp AT TIME ZONE $3) - interval '1 minute') AT TIME ZONE $3)::date = d.day
              THEN (d.day::timestamp AT TIME ZONE $3) - interval '3 hours'
              ELSE d.day::timestamp AT TIME ZONE $3 END AS first_at,
         CASE WHEN o.o_last_fix_at < d.first_new THEN o.o_last_fix_at END AS anchor
  FROM days d LEFT JOIN LATERAL (
    SELECT s.fixes AS o_fixes, s.distance_m AS o_distance_m, s.moving_s AS o_moving_s, s.idle_s AS o_idle_s,
           s.moving_speed_s AS o_moving_speed_s, s.max_speed_kmh AS o_max_speed_kmh,
           s.gap_s AS o_gap_s, s.gap_distance_m AS o_gap_distance_m,
           s.first_fix_at AS o_first_fix_at, s.last_fix_at AS o_last_fix_at
    FROM daily_vehicle_stats s WHERE s.vehicle_id = d.vehicle_id AND s.day = d.day OFFSET 0
  ) o ON true
), todo AS (
  SELECT * FROM plan WHERE anchor IS NOT NULL OR o_fixes IS NULL OR first_at >= $5
), pts AS (
  SELECT p.vehicle_id, p.day, p.anchor, l.recorded_at, l.location, l.speed, l.ignition,
         lead(l.recorded_at) OVER seq AS next_at, lead(l.location) OVER seq AS next_location,
         lead(l.speed) OVER seq AS next_speed, lead(l.ignition) OVER seq AS next_ignition,
         $6::float8 AS gap_after
  FROM todo p CROSS JOIN LATERAL (
    SELECT recorded_at, location, speed, ignition FROM vehicle_locations
    WHERE vehicle_id = p.vehicle_id AND recorded_at >= COALESCE(p.anchor, p.first_at) AND recorded_at < p.hi
      AND (recorded_at AT TIME ZONE $3)::date = p.day
    OFFSET 0
  ) l
  WINDOW seq AS (PARTITION BY p.vehicle_id, p.day ORDER BY l.recorded_at)
), ${dailyAggregateSql("$4")}, computed AS (
  SELECT a.vehicle_id, a.day,
         a.fixes + CASE WHEN a.anchor IS NULL THEN 0 ELSE o.o_fixes END AS fixes,
         a.distance_m + CASE WHEN a.anchor IS NULL THEN 0 ELSE o.o_distance_m END AS distance_m,
         a.moving_s + CASE WHEN a.anchor IS NULL THEN 0 ELSE o.o_moving_s END AS moving_s,
         a.idle_s + CASE WHEN a.anchor IS NULL THEN 0 ELSE o.o_idle_s END AS idle_s,
         a.moving_speed_s + CASE WHEN a.anchor IS NULL THEN 0 ELSE o.o_moving_speed_s END AS moving_speed_s,
         a.gap_s + CASE WHEN a.anchor IS NULL THEN 0 ELSE o.o_gap_s END AS gap_s,
         a.gap_distance_m + CASE WHEN a.anchor IS NULL THEN 0 ELSE o.o_gap_distance_m END AS gap_distance_m,
         CASE WHEN a.anchor IS NULL THEN a.max_speed_kmh ELSE greatest(a.max_speed_kmh, o.o_max_speed_kmh) END
           AS max_speed_kmh,
         CASE WHEN a.anchor IS NULL THEN a.first_fix_at ELSE o.o_first_fix_at END AS first_fix_at,
         a.last_fix_at
  FROM agg a JOIN todo o ON o.vehicle_id = a.vehicle_id AND o.day = a.day
), written AS (
  INSERT INTO daily_vehicle_stats AS s
    (vehicle_id, day, fixes, distance_m, moving_s, idle_s, moving_speed_s, gap_s, gap_distance_m, max_speed_kmh,
     first_fix_at, last_fix_at, updated_at)
  SELECT vehicle_id, day, fixes, distance_m, moving_s, idle_s, moving_speed_s, gap_s, gap_distance_m,
         max_speed_kmh, first_fix_at, last_fix_at, now()
  FROM computed
  ON CONFLICT (vehicle_id, day) DO UPDATE SET
    fixes = EXCLUDED.fixes, distance_m = EXCLUDED.distance_m, moving_s = EXCLUDED.moving_s,
    idle_s = EXCLUDED.idle_s, moving_speed_s = EXCLUDED.moving_speed_s, gap_s = EXCLUDED.gap_s,
    gap_distance_m = EXCLUDED.gap_distance_m, max_speed_kmh = EXCLUDED.max_speed_kmh,
    first_fix_at = EXCLUDED.first_fix_at, last_fix_at = EXCLUDED.last_fix_at, updated_at = EXCLUDED.updated_at
  RETURNING 1
), appended AS (
  SELECT (SELECT count(*) FROM extended) + (SELECT count(*) FROM started) AS n
)
SELECT ((SELECT count(*) FROM written) + n)::int AS written, n::int AS appended FROM appended`;

export interface AnalyticsOptions {
  fleetTz: string;
  movingSpeedKmh: number;
  /** TRIP_GAP_SECONDS: a longer segment is a silence */
  gapSeconds: number;
  /** days starting before this (epoch ms) may have lost fixes to retention: never recomputed whole */
  retainedFrom: number;
}

/**
 * Updates the rows of the vehicle-days that these newly stored fixes fall in: the worker's appends
 * (day-appends.ts) where they fit, the other days computed from the stored fixes. Answers the rows
 * written and how many of them were appends.
 */
export async function updateDailyAnalytics(
  client: pg.PoolClient,
  inserted: ReadonlySet<string>,
  opts: AnalyticsOptions,
  appends: readonly DayAppend[] = [],
): Promise<{ written: number; appended: number }> {
  const ids: string[] = [];
  const times: number[] = [];
  for (const key of inserted) {
    const f = parseFixKey(key);
    ids.push(f.vehicleId);
    times.push(f.recordedAt);
  }
  if (ids.length === 0 && appends.length === 0) return { written: 0, appended: 0 };
  // array literals written in one pass (core/sql-array.ts)
  const col = (f: (a: DayAppend) => string | number | null) => sqlArray(appends.map(f));
  const r = await client.query<{ written: number; appended: number }>({
    name: "daily-analytics",
    text: UPDATE_DAYS,
    values: [
      sqlArray(ids),
      sqlArray(times),
      opts.fleetTz,
      opts.movingSpeedKmh,
      new Date(opts.retainedFrom),
      opts.gapSeconds,
      col((a) => a.vehicleId),
      col((a) => a.day),
      col((a) => a.anchor),
      col((a) => a.firstNew),
      col((a) => a.lastFixAt),
      col((a) => a.fixes),
      col((a) => a.distanceM),
      col((a) => a.movingS),
      col((a) => a.idleS),
      col((a) => a.movingSpeedS),
      col((a) => a.gapS),
      col((a) => a.gapDistanceM),
      col((a) => a.maxSpeedKmh),
    ],
  });
  return r.rows[0] ?? { written: 0, appended: 0 };
}
