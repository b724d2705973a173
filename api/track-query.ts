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

/**
 * Douglas-Peucker (ST_Simplify) on a LineString M whose M is the fix time: the vertices it keeps
 * carry their time, which joins them back to their rows and their per-point properties.
 * $5 is the tolerance in degrees.
 */
export const SIMPLIFIED_TRACK_SQL = `WITH pts AS (
  SELECT recorded_at, location, speed, heading, altitude, accuracy, ignition, odometer, attributes FROM vehicle_locations
  WHERE vehicle_id = $1 AND recorded_at >= $2::timestamptz AND recorded_at < $3::timestamptz
), kept AS (
  SELECT ST_M((ST_DumpPoints(ST_Simplify(ST_MakeLine(
    ST_MakePointM(ST_X(location), ST_Y(location), extract(epoch FROM recorded_at)::float8) ORDER BY recorded_at), $5)
  )).geom) AS m FROM pts
)
SELECT ${SELECT} FROM pts WHERE extract(epoch FROM recorded_at)::float8 IN (SELECT m FROM kept)
ORDER BY recorded_at LIMIT $4`;

// metres → degrees along a meridian; east-west a degree is shorter, so the tolerance errs small
const METRES_PER_DEGREE = 111_320;

export async function readTrack(
  pool: pg.Pool,
  q: { vehicleId: string; from: Date; to: Date; limit: number; simplifyMetres?: number | undefined },
): Promise<TrackPoint[]> {
  const params: unknown[] = [q.vehicleId, q.from, q.to, q.limit];
  let sql = TRACK_SQL;
  if (q.simplifyMetres !== undefined && q.simplifyMetres > 0) {
    sql = SIMPLIFIED_TRACK_SQL;
    params.push(q.simplifyMetres / METRES_PER_DEGREE);
  }
  const r = await pool.query<TrackPoint>(sql, params);
  return r.rows;
}
