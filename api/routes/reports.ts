import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import { errorSchema, sendError } from "../errors.ts";
import { vehicleIdSchema } from "../schemas.ts";

const DAY_MS = 86_400_000;
const MAX_RANGE_DAYS = 366;

/** timestamptz → ISO-8601 UTC in SQL, as the other routes answer */
export const isoSql = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** `from` and `to` (ISO-8601 with offset; to exclusive), both required, at most a year apart. */
export const timeRangeQuery = z.object({
  from: z.iso.datetime({ offset: true }).describe("start, inclusive (ISO-8601)"),
  to: z.iso.datetime({ offset: true }).describe("end, exclusive (ISO-8601)"),
});

/** 400 naming the field when `to` is not after `from` or the range is too long; otherwise the Dates. */
export function checkRange(q: { from: string; to: string }): { from: Date; to: Date } | string {
  const from = new Date(q.from);
  const to = new Date(q.to);
  if (to <= from) return "querystring.to: must be after from";
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS)
    return `querystring.to: the range may span at most ${MAX_RANGE_DAYS} days`;
  return { from, to };
}

/**
 * Keyset cursors `<epoch ms>.<id>` over (time, id): stable while rows are added, and what an index
 * on (…, time) answers without OFFSET.
 */
export const timeCursor = z
  .string()
  .regex(/^\d{1,15}\.\d{1,18}$/, "not a cursor of this list")
  .transform((s) => {
    const [t, id] = s.split(".");
    return { t: new Date(Number(t)), id: id as string };
  })
  .describe("nextCursor of the previous page");
export const cursorOf = (t: string, id: number) => `${Date.parse(t)}.${id}`;

const listQuery = timeRangeQuery.extend({
  vehicleId: vehicleIdSchema.optional().describe("one vehicle; all when absent"),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
  cursor: timeCursor.optional(),
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

const list = <T extends z.ZodTypeAny>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/**
 * Trips and stops derived by the worker from ignition and speed (worker/vehicle-machine.ts):
 * those overlapping [from, to), oldest first. Late fixes re-derive them, so a report asked again
 * after a truck's late upload shows the trips that really happened.
 */
export function reportRoutes(deps: { pool: pg.Pool }): FastifyPluginAsyncZod {
  const { pool } = deps;
  return async (app) => {
    app.get(
      "/api/reports/trips",
      {
        config: { access: "read" },
        schema: {
          tags: ["reports"],
          summary: "trips overlapping from/to (one vehicle or all), oldest first",
          querystring: listQuery,
          response: { 200: list(tripSchema), 400: errorSchema },
        },
      },
      async (req, reply) => {
        const range = checkRange(req.query);
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
           ORDER BY started_at, id LIMIT $6`,
          [range.from, range.to, vehicleId ?? null, cursor?.t ?? null, cursor?.id ?? 0, limit + 1],
        );
        const page = r.rows.slice(0, limit);
        const last = page.at(-1);
        return {
          items: page,
          nextCursor: r.rows.length > limit && last ? cursorOf(last.startedAt, last.id) : null,
        };
      },
    );

    app.get(
      "/api/reports/stops",
      {
        config: { access: "read" },
        schema: {
          tags: ["reports"],
          summary: "stops (time between two trips) overlapping from/to, oldest first",
          querystring: listQuery,
          response: { 200: list(stopSchema), 400: errorSchema },
        },
      },
      async (req, reply) => {
        const range = checkRange(req.query);
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
           ORDER BY started_at, id LIMIT $6`,
          [range.from, range.to, vehicleId ?? null, cursor?.t ?? null, cursor?.id ?? 0, limit + 1],
        );
        const page = r.rows.slice(0, limit);
        const last = page.at(-1);
        return {
          items: page,
          nextCursor: r.rows.length > limit && last ? cursorOf(last.startedAt, last.id) : null,
        };
      },
    );
  };
}
