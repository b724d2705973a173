import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import { visibleSql } from "../../core/vehicle-groups.ts";
import { errorSchema, sendError } from "../errors.ts";
import { isoSql } from "../iso-sql.ts";
import { pageQuery, pageSchema, timeCursor, timeCursorOf, toPage } from "../pagination.ts";
import { csvQuery, fixed, sendCsv } from "../report-csv.ts";
import { sortOrder } from "../report-sort.ts";
import { vehicleIdSchema } from "../schemas.ts";
import { checkRange } from "../time-range.ts";

const query = pageQuery(1000, 200, timeCursor)
  .extend({
    vehicleId: vehicleIdSchema.optional(),
    type: z.enum(["geofence", "presence"]).optional().describe("one kind of event; default both"),
    geofenceId: z.coerce
      .number()
      .int()
      .positive()
      .max(2 ** 53)
      .optional()
      .describe("geofence events of this geofence (presence events have none)"),
    from: z.iso.datetime({ offset: true }).optional().describe("events at or after (ISO-8601)"),
    to: z.iso.datetime({ offset: true }).optional().describe("events before (ISO-8601)"),
    kind: z.enum(["enter", "exit", "online", "offline"]).optional().describe("one kind of event"),
    order: sortOrder.describe("asc: oldest first; desc: newest first (the cursor follows)"),
  })
  .extend(csvQuery.omit({ units: true }).shape);

const EXPORT_PAGE = 5000;

const geofenceEventSchema = z.object({
  id: z.number().int(),
  type: z.literal("geofence"),
  vehicleId: z.string(),
  geofenceId: z.number().int(),
  geofenceName: z.string().describe("as it was when the event happened"),
  kind: z.enum(["enter", "exit"]),
  at: z.string().describe("event time: the first fix on the new side"),
  confirmedAt: z.string().describe("the fix that completed the geofence's dwell time"),
  lat: z.number(),
  lng: z.number(),
});

const presenceEventSchema = z.object({
  id: z.number().int(),
  type: z.literal("presence"),
  vehicleId: z.string(),
  kind: z.enum(["online", "offline"]),
  at: z.string().describe("the first session's connect, or the end of the last session"),
});

const eventSchema = z.discriminatedUnion("type", [geofenceEventSchema, presenceEventSchema]);
type EventRow = z.infer<typeof geofenceEventSchema> | z.infer<typeof presenceEventSchema>;

/**
 * Geofence enter/exit events in event time (recorded_at of the crossing fix) and presence changes
 * (online/offline, broker/presence-sweep.ts), oldest first. The worker derives geofence events per
 * vehicle and geofence in recorded_at order, so late fixes add the events that really happened and
 * remove those they prove false (worker/derive/derive-vehicles.ts). Both tables draw ids from one
 * sequence (sql/015_presence.sql), so (at, id) orders and pages them together, either way; CSV
 * streams every matching event.
 */
export function eventRoutes(deps: { pool: pg.Pool }): FastifyPluginAsyncZod {
  const { pool } = deps;
  return async (app) => {
    app.get(
      "/api/events",
      {
        config: { access: "read", vehicles: "filtered" },
        schema: {
          tags: ["events"],
          summary:
            "geofence enter/exit and presence online/offline events by vehicle, geofence, type, kind and time; oldest or newest first, or CSV",
          querystring: query,
          response: {
            200: pageSchema(eventSchema),
            400: errorSchema,
          },
        },
      },
      async (req, reply) => {
        const { vehicleId, type, geofenceId, from, to, kind, order, limit, format } = req.query;
        // any span: a page is bounded by limit
        const range = from && to ? checkRange({ from, to }, Number.POSITIVE_INFINITY) : undefined;
        if (typeof range === "string")
          return sendError(reply, "E_VALIDATION", range, { field: "querystring.to" });
        const read = async (lim: number, cursor: { t: Date; id: string } | undefined) => {
          const r = await pool.query<EventRow & { geofenceId: number | null }>(
            `SELECT id::float8 AS id, type, "vehicleId", "geofenceId", "geofenceName", kind, ${isoSql("at")} AS at,
                  ${isoSql("confirmed_at")} AS "confirmedAt", lat, lng
           FROM (
             SELECT id, 'geofence' AS type, vehicle_id AS "vehicleId", geofence_id::float8 AS "geofenceId",
                    geofence_name AS "geofenceName", kind, at, confirmed_at, ST_Y(location) AS lat, ST_X(location) AS lng
             FROM geofence_events
             WHERE ($8::text IS NULL OR $8 = 'geofence')
               AND ($1::text IS NULL OR vehicle_id = $1) AND ($2::bigint IS NULL OR geofence_id = $2)
               AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)
               AND ($5::timestamptz IS NULL OR CASE WHEN $11 = 'desc' THEN (at, id) < ($5, $6::bigint)
                                                    ELSE (at, id) > ($5, $6::bigint) END)
               AND ($10::text IS NULL OR kind = $10)
               AND ${visibleSql("vehicle_id", "$9")}
             UNION ALL
             SELECT id, 'presence', vehicle_id, NULL, NULL, kind, at, NULL, NULL, NULL
             FROM presence_events
             WHERE ($8::text IS NULL OR $8 = 'presence') AND $2::bigint IS NULL
               AND ($1::text IS NULL OR vehicle_id = $1)
               AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)
               AND ($5::timestamptz IS NULL OR CASE WHEN $11 = 'desc' THEN (at, id) < ($5, $6::bigint)
                                                    ELSE (at, id) > ($5, $6::bigint) END)
               AND ($10::text IS NULL OR kind = $10)
               AND ${visibleSql("vehicle_id", "$9")}
           ) e
           ORDER BY CASE WHEN $11 = 'desc' THEN e.at END DESC, CASE WHEN $11 = 'desc' THEN e.id END DESC,
                    e.at, e.id
           LIMIT $7`,
            [
              vehicleId ?? null,
              geofenceId ?? null,
              from ? new Date(from) : null,
              to ? new Date(to) : null,
              cursor?.t ?? null,
              cursor?.id ?? 0,
              lim,
              type ?? null,
              req.principal?.groups ?? null,
              kind ?? null,
              order,
            ],
          );
          return r.rows.map(
            (row): EventRow =>
              row.type === "presence"
                ? { id: row.id, type: "presence", vehicleId: row.vehicleId, kind: row.kind, at: row.at }
                : row,
          );
        };
        if (format === "csv") {
          let cursor: { t: Date; id: string } | undefined;
          return sendCsv<EventRow>(
            reply,
            `events${from ? `-${from.slice(0, 10)}` : ""}.csv`,
            ["at", "vehicleId", "type", "kind", "geofenceId", "geofenceName", "confirmedAt", "lat", "lng"],
            (e) =>
              e.type === "presence"
                ? [e.at, e.vehicleId, e.type, e.kind, null, null, null, null, null]
                : [
                    e.at,
                    e.vehicleId,
                    e.type,
                    e.kind,
                    String(e.geofenceId),
                    e.geofenceName,
                    e.confirmedAt,
                    fixed(e.lat, 6),
                    fixed(e.lng, 6),
                  ],
            async () => {
              const rows = await read(EXPORT_PAGE, cursor);
              const last = rows.at(-1);
              if (last) cursor = { t: new Date(last.at), id: String(last.id) };
              return rows;
            },
          );
        }
        const rows = await read(limit + 1, req.query.cursor);
        return toPage(rows, limit, (last) => timeCursorOf(last.at, last.id));
      },
    );
  };
}
