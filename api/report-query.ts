import type pg from "pg";
import { z } from "zod";
import type { GroupScope } from "../core/api-tokens.ts";
import { visibleSql } from "../core/vehicle-groups.ts";
import { isoSql } from "./iso-sql.ts";

export type ReportKind = "trips" | "stops";

const point = z.object({ lat: z.number(), lng: z.number() });

export const tripSchema = z.object({
  id: z.number().int(),
  vehicleId: z.string(),
  startedAt: z.string(),
  endedAt: z.string(),
  durationS: z.number(),
  distanceM: z.number().describe("geodesic, metres"),
  maxSpeedKmh: z.number().nullable(),
  avgSpeedKmh: z.number().nullable().describe("distance / duration"),
  start: point,
  end: point,
});

export const stopSchema = z.object({
  id: z.number().int(),
  vehicleId: z.string(),
  startedAt: z.string().describe("where the trip before it ended"),
  endedAt: z.string().describe("where the next trip started"),
  durationS: z.number(),
  lat: z.number(),
  lng: z.number(),
});

export type TripRow = z.infer<typeof tripSchema>;
export type StopRow = z.infer<typeof stopSchema>;

const SELECT: Record<ReportKind, string> = {
  trips: `SELECT id::float8 AS id, vehicle_id AS "vehicleId", ${isoSql("started_at")} AS "startedAt",
                 ${isoSql("ended_at")} AS "endedAt", extract(epoch FROM ended_at - started_at)::float8 AS "durationS",
                 distance_m AS "distanceM", max_speed_kmh AS "maxSpeedKmh", avg_speed_kmh AS "avgSpeedKmh",
                 json_build_object('lat', ST_Y(start_location), 'lng', ST_X(start_location)) AS start,
                 json_build_object('lat', ST_Y(end_location), 'lng', ST_X(end_location)) AS "end",
                 started_at, vehicle_id,
                 CASE $9 WHEN 'duration' THEN extract(epoch FROM ended_at - started_at)::float8
                         WHEN 'distance' THEN distance_m WHEN 'avgSpeed' THEN avg_speed_kmh
                         WHEN 'maxSpeed' THEN max_speed_kmh END AS key
          FROM trips`,
  stops: `SELECT id::float8 AS id, vehicle_id AS "vehicleId", ${isoSql("started_at")} AS "startedAt",
                 ${isoSql("ended_at")} AS "endedAt", extract(epoch FROM ended_at - started_at)::float8 AS "durationS",
                 ST_Y(location) AS lat, ST_X(location) AS lng, started_at, vehicle_id,
                 CASE $9 WHEN 'duration' THEN extract(epoch FROM ended_at - started_at)::float8 END AS key
          FROM stops`,
};

const WHERE = `WHERE started_at < $2 AND ended_at > $1 AND ($3::text IS NULL OR vehicle_id = $3)
  AND ($4::timestamptz IS NULL OR (started_at, id) > ($4, $5::bigint))
  AND ${visibleSql("vehicle_id", "$8")}`;

/**
 * A page of trips or stops overlapping [from, to): by the keyset cursor (started_at, id) oldest
 * first, or sorted by `sort` (a CASE on a parameter: the column is never interpolated) and paged
 * by offset, with the number of rows matching.
 */
export async function readReport(
  pool: pg.Pool,
  kind: ReportKind,
  p: {
    from: Date;
    to: Date;
    vehicleId: string | null;
    groups: GroupScope;
    sort: string;
    order: "asc" | "desc";
    limit: number;
    offset: number;
    cursor?: { t: Date; id: string } | undefined;
  },
): Promise<{ items: (TripRow | StopRow)[]; total: number }> {
  const params = [
    p.from,
    p.to,
    p.vehicleId,
    p.cursor?.t ?? null,
    p.cursor?.id ?? 0,
    p.limit,
    p.offset,
    p.groups,
    p.sort,
    p.order,
  ];
  const keyset = p.sort === "startedAt" && p.order === "asc";
  type Out = (TripRow | StopRow) & { total: number | null };
  // oldest first is what the index on started_at answers without reading the whole range
  const r = keyset
    ? await pool.query<Out>(
        `SELECT NULL::int AS total, k.* FROM (${SELECT[kind]} ${WHERE}) k ORDER BY started_at, id LIMIT $6 OFFSET $7`,
        params.slice(0, 9),
      )
    : await pool.query<Out>(
        `WITH k AS (${SELECT[kind]} ${WHERE})
         SELECT t.total, p.* FROM (SELECT count(*)::int AS total FROM k) t
         LEFT JOIN LATERAL (
           SELECT * FROM k
           ORDER BY CASE WHEN $10 = 'asc' THEN key END ASC NULLS LAST,
                    CASE WHEN $10 = 'desc' THEN key END DESC NULLS LAST,
                    CASE WHEN $9 = 'vehicleId' AND $10 = 'asc' THEN vehicle_id END ASC,
                    CASE WHEN $9 = 'vehicleId' AND $10 = 'desc' THEN vehicle_id END DESC,
                    CASE WHEN $10 = 'desc' THEN started_at END DESC, CASE WHEN $10 = 'desc' THEN id END DESC,
                    started_at, id
           LIMIT $6 OFFSET $7
         ) p ON true`,
        params,
      );
  const total = r.rows[0]?.total ?? 0;
  const items = r.rows
    .filter((row) => row.id !== null)
    .map((row) => {
      const {
        total: _t,
        started_at: _s,
        vehicle_id: _v,
        key: _k,
        ...rest
      } = row as typeof row & {
        started_at?: unknown;
        vehicle_id?: unknown;
        key?: unknown;
      };
      return rest as TripRow | StopRow;
    });
  return { items, total };
}
