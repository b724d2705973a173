import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import { visibleSql } from "../../core/vehicle-groups.ts";
import { errorSchema, sendError } from "../errors.ts";
import { isoSql } from "../iso-sql.ts";
import { pageQuery, pageSchema, timeCursor, timeCursorOf, toPage } from "../pagination.ts";
import { vehicleIdSchema } from "../schemas.ts";
import { checkRange, timeRangeQuery } from "../time-range.ts";

const MAX_RANGE_DAYS = 366;

const listQuery = pageQuery(1000, 200, timeCursor).extend({
  ...timeRangeQuery.shape,
  vehicleId: vehicleIdSchema.optional().describe("one vehicle; all when absent"),
});

const point = z.object({ lat: z.number(), lng: z.number() });

const tripSchema = z.object({
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

const stopSchema = z.object({
  id: z.number().int(),
  vehicleId: z.string(),
  startedAt: z.string().describe("where the trip before it ended"),
  endedAt: z.string().describe("where the next trip started"),
  durationS: z.number(),
  lat: z.number(),
  lng: z.number(),
});

/**
 * Trips and stops derived by the worker from ignition and speed (worker/derive/vehicle-machine.ts):
 * those overlapping [from, to), oldest first. Late fixes re-derive them, so a report asked again
 * after a truck's late upload shows the trips that really happened.
 */
export function reportRoutes(deps: { pool: pg.Pool }): FastifyPluginAsyncZod {
  const { pool } = deps;
  return async (app) => {
    app.get(
      "/api/reports/trips",
      {
        config: { access: "read", vehicles: "filtered" },
        schema: {
          tags: ["reports"],
          summary: "trips overlapping from/to (one vehicle or all), oldest first",
          querystring: listQuery,
          response: { 200: pageSchema(tripSchema), 400: errorSchema },
        },
      },
      async (req, reply) => {
        const range = checkRange(req.query, MAX_RANGE_DAYS);
        if (typeof range === "string")
          return sendError(reply, "E_VALIDATION", range, { field: "querystring.to" });
        const { vehicleId, limit, cursor } = req.query;
        const r = await pool.query<z.infer<typeof tripSchema>>(
          `SELECT id::float8 AS id, vehicle_id AS "vehicleId", ${isoSql("started_at")} AS "startedAt",
                  ${isoSql("ended_at")} AS "endedAt", extract(epoch FROM ended_at - started_at)::float8 AS "durationS",
                  distance_m AS "distanceM", max_speed_kmh AS "maxSpeedKmh", avg_speed_kmh AS "avgSpeedKmh",
                  json_build_object('lat', ST_Y(start_location), 'lng', ST_X(start_location)) AS start,
                  json_build_object('lat', ST_Y(end_location), 'lng', ST_X(end_location)) AS "end"
           FROM trips
           WHERE started_at < $2 AND ended_at > $1 AND ($3::text IS NULL OR vehicle_id = $3)
             AND ($4::timestamptz IS NULL OR (started_at, id) > ($4, $5::bigint))
             AND ${visibleSql("vehicle_id", "$7")}
           ORDER BY started_at, id LIMIT $6`,
          [
            range.from,
            range.to,
            vehicleId ?? null,
            cursor?.t ?? null,
            cursor?.id ?? 0,
            limit + 1,
            req.principal?.groups ?? null,
          ],
        );
        return toPage(r.rows, limit, (last) => timeCursorOf(last.startedAt, last.id));
      },
    );

    app.get(
      "/api/reports/stops",
      {
        config: { access: "read", vehicles: "filtered" },
        schema: {
          tags: ["reports"],
          summary: "stops (time between two trips) overlapping from/to, oldest first",
          querystring: listQuery,
          response: { 200: pageSchema(stopSchema), 400: errorSchema },
        },
      },
      async (req, reply) => {
        const range = checkRange(req.query, MAX_RANGE_DAYS);
        if (typeof range === "string")
          return sendError(reply, "E_VALIDATION", range, { field: "querystring.to" });
        const { vehicleId, limit, cursor } = req.query;
        const r = await pool.query<z.infer<typeof stopSchema>>(
          `SELECT id::float8 AS id, vehicle_id AS "vehicleId", ${isoSql("started_at")} AS "startedAt",
                  ${isoSql("ended_at")} AS "endedAt", extract(epoch FROM ended_at - started_at)::float8 AS "durationS",
                  ST_Y(location) AS lat, ST_X(location) AS lng
           FROM stops
           WHERE started_at < $2 AND ended_at > $1 AND ($3::text IS NULL OR vehicle_id = $3)
             AND ($4::timestamptz IS NULL OR (started_at, id) > ($4, $5::bigint))
             AND ${visibleSql("vehicle_id", "$7")}
           ORDER BY started_at, id LIMIT $6`,
          [
            range.from,
            range.to,
            vehicleId ?? null,
            cursor?.t ?? null,
            cursor?.id ?? 0,
            limit + 1,
            req.principal?.groups ?? null,
          ],
        );
        return toPage(r.rows, limit, (last) => timeCursorOf(last.startedAt, last.id));
      },
    );
  };
}
