import type pg from "pg";

/** One stored fix of a track. Times are epoch milliseconds. */
export interface TrackPoint {
  t: number;
  lat: number;
  lng: number;
  speed: number | null;
  heading: number | null;
  altitude: number | null;
  accuracy: number | null;
  ignition: boolean | null;
  odometer: number | null;
  attributes: Record<string, number | string | boolean> | null;
}

const SELECT = `(extract(epoch FROM recorded_at) * 1000)::float8 AS t, ST_Y(location) AS lat, ST_X(location) AS lng,
  speed, heading, altitude, accuracy, ignition, odometer, attributes`;

/**
 * `recorded_at >= $2 AND recorded_at < $3` on the partition key lets PostgreSQL prune every
 * partition outside the range (at plan time, or at executor start for a generic plan), so a
 * day's track reads one partition. $4 caps the rows.
 */
export const TRACK_SQL = `SELECT ${SELECT} FROM vehicle_locations
WHERE vehicle_id = $1 AND recorded_at >= $2::timestamptz AND recorded_at < $3::timestamptz
ORDER BY recorded_at LIMIT $4`;

/** How many fixes the range holds: whether the simplifier's input must be thinned first. */
export const TRACK_COUNT_SQL = `SELECT count(*)::int AS n FROM vehicle_locations
WHERE vehicle_id = $1 AND recorded_at >= $2::timestamptz AND recorded_at < $3::timestamptz`;

/**
 * Douglas-Peucker (ST_Simplify) on a LineString M whose M is the fix time: the vertices it keeps
 * carry their time, which joins them back to their rows and their per-point properties.
 * $5 is the tolerance in degrees. The input is every $6-th fix of the range plus its last ($7 is
 * the range's count): 1 keeps all, more bounds the line a long range builds (TRACK_SIMPLIFY_MAX_INPUT).
 */
export const SIMPLIFIED_TRACK_SQL = `WITH pts AS (
  SELECT recorded_at, location, speed, heading, altitude, accuracy, ignition, odometer, attributes FROM (
    SELECT *, row_number() OVER (ORDER BY recorded_at) AS rn FROM vehicle_locations
    WHERE vehicle_id = $1 AND recorded_at >= $2::timestamptz AND recorded_at < $3::timestamptz
  ) ranged WHERE (rn - 1) % $6::int = 0 OR rn = $7::int
), kept AS (
  SELECT ST_M((ST_DumpPoints(ST_Simplify(ST_MakeLine(
    ST_MakePointM(ST_X(location), ST_Y(location), extract(epoch FROM recorded_at)::float8) ORDER BY recorded_at), $5)
  )).geom) AS m FROM pts
)
SELECT ${SELECT} FROM pts WHERE extract(epoch FROM recorded_at)::float8 IN (SELECT m FROM kept)
ORDER BY recorded_at LIMIT $4`;

// metres → degrees along a meridian; east-west a degree is shorter, so the tolerance errs small
const METRES_PER_DEGREE = 111_320;

export interface TrackQuery {
  vehicleId: string;
  from: Date;
  to: Date;
  limit: number;
  simplifyMetres?: number | undefined;
  /** most fixes fed to the simplifier (TRACK_SIMPLIFY_MAX_INPUT) */
  simplifyMaxInput: number;
}

export interface Track {
  points: TrackPoint[];
  /** simplified: 1 when every fix of the range went into the simplifier, k when every k-th did */
  thinnedEvery: number;
}

/**
 * A vehicle's fixes in the range, simplified on request. A simplified range holding more fixes
 * than `simplifyMaxInput` keeps every k-th (and the last) before Douglas-Peucker, so the line it
 * builds in PostgreSQL has at most that many points whatever the range; the caller says so.
 */
export async function readTrack(pool: pg.Pool, q: TrackQuery): Promise<Track> {
  if (q.simplifyMetres === undefined || q.simplifyMetres <= 0) {
    const r = await pool.query<TrackPoint>(TRACK_SQL, [q.vehicleId, q.from, q.to, q.limit]);
    return { points: r.rows, thinnedEvery: 1 };
  }
  const n = (await pool.query<{ n: number }>(TRACK_COUNT_SQL, [q.vehicleId, q.from, q.to])).rows[0]?.n ?? 0;
  // every k-th from the first gives at most max - 1 points, the last one makes it max
  const every = n <= q.simplifyMaxInput ? 1 : Math.ceil(n / Math.max(1, q.simplifyMaxInput - 1));
  const tolerance = q.simplifyMetres / METRES_PER_DEGREE;
  const r = await pool.query<TrackPoint>(SIMPLIFIED_TRACK_SQL, [
    q.vehicleId,
    q.from,
    q.to,
    q.limit,
    tolerance,
    every,
    n,
  ]);
  return { points: r.rows, thinnedEvery: every };
}
