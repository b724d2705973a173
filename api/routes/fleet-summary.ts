import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { visibleSql } from "../../core/vehicle-groups.ts";
import { errorSchema, sendError } from "../errors.ts";
import { csvQuery, csvUnits, hours, sendCsv } from "../report-csv.ts";
import { offsetPageQuery, offsetPageSchema, sortOrder } from "../report-sort.ts";

const MAX_DAYS = 366;
const EXPORT_PAGE = 5000;

const query = offsetPageQuery(1000, 100)
  .extend({
    from: z.iso.date().describe("first fleet day (FLEET_TZ), YYYY-MM-DD"),
    to: z.iso.date().describe("last fleet day, inclusive"),
    q: z.string().max(64).optional().describe("vehicles whose id or name contains this (any case)"),
    sort: z
      .enum(["vehicleId", "distance", "moving", "idle", "avgSpeed", "maxSpeed", "fixes"])
      .default("vehicleId"),
    order: sortOrder,
  })
  .extend(csvQuery.shape);

const rowSchema = z.object({
  vehicleId: z.string(),
  name: z.string().nullable(),
  days: z.number().int().describe("fleet days with fixes"),
  fixes: z.number().int(),
  distanceM: z.number().describe("sum of the days' distances, metres"),
  movingS: z.number(),
  idleS: z.number(),
  avgSpeedKmh: z.number().nullable().describe("time-weighted while moving"),
  maxSpeedKmh: z.number().nullable(),
});
type Row = z.infer<typeof rowSchema>;

/**
 * Per-vehicle totals over a range of fleet days, from the daily rollup the worker keeps
 * (worker/derive/daily-analytics.ts): sorted, filtered and paged in SQL, so a fleet of thousands
 * is never sorted in the browser. The sort column is chosen by CASE on a parameter, never
 * interpolated.
 */
export function fleetSummaryRoutes(deps: {
  pool: pg.Pool;
  config: Pick<Config, "FLEET_TZ">;
}): FastifyPluginAsyncZod {
  const { pool, config } = deps;
  return async (app) => {
    app.get(
      "/api/reports/summary",
      {
        config: { access: "read", vehicles: "filtered" },
        schema: {
          tags: ["reports"],
          summary: `per-vehicle distance, moving and idle time and speeds over fleet days (${config.FLEET_TZ}), sorted and paged, or CSV`,
          querystring: query,
          response: {
            200: offsetPageSchema(rowSchema).extend({
              from: z.string(),
              to: z.string(),
              timeZone: z.string(),
            }),
            400: errorSchema,
          },
        },
      },
      async (req, reply) => {
        const { from, to, q, sort, order, limit, offset, format, units } = req.query;
        const span = (Date.parse(to) - Date.parse(from)) / 86_400_000;
        if (span < 0)
          return sendError(reply, "E_VALIDATION", "querystring.to: must not be before from", {
            field: "querystring.to",
          });
        if (span >= MAX_DAYS)
          return sendError(
            reply,
            "E_VALIDATION",
            `querystring.to: the range may span at most ${MAX_DAYS} days`,
            {
              field: "querystring.to",
            },
          );
        const read = async (lim: number, off: number) => {
          const r = await pool.query<Row & { total: number }>(
            `WITH s AS (
               SELECT d.vehicle_id, v.name, count(*)::int AS days, sum(d.fixes)::int AS fixes,
                      sum(d.distance_m)::float8 AS distance_m, sum(d.moving_s)::float8 AS moving_s,
                      sum(d.idle_s)::float8 AS idle_s,
                      (sum(d.moving_speed_s) / nullif(sum(d.moving_s), 0))::float8 AS avg_speed_kmh,
                      max(d.max_speed_kmh)::float8 AS max_speed_kmh
               FROM daily_vehicle_stats d LEFT JOIN vehicles v ON v.id = d.vehicle_id
               WHERE d.day BETWEEN $1::date AND $2::date
                 AND ($3::text IS NULL OR strpos(lower(d.vehicle_id), lower($3)) > 0
                      OR strpos(lower(coalesce(v.name, '')), lower($3)) > 0)
                 AND ${visibleSql("d.vehicle_id", "$8")}
               GROUP BY d.vehicle_id, v.name
             ), k AS (
               SELECT s.*, CASE $4 WHEN 'distance' THEN distance_m WHEN 'moving' THEN moving_s
                             WHEN 'idle' THEN idle_s WHEN 'avgSpeed' THEN avg_speed_kmh
                             WHEN 'maxSpeed' THEN max_speed_kmh WHEN 'fixes' THEN fixes END AS key
               FROM s
             )
             SELECT t.total, p.vehicle_id AS "vehicleId", p.name, p.days, p.fixes, p.distance_m AS "distanceM",
                    p.moving_s AS "movingS", p.idle_s AS "idleS", p.avg_speed_kmh AS "avgSpeedKmh",
                    p.max_speed_kmh AS "maxSpeedKmh"
             FROM (SELECT count(*)::int AS total FROM k) t
             LEFT JOIN LATERAL (
               SELECT * FROM k
               ORDER BY CASE WHEN $5 = 'asc' THEN key END ASC NULLS LAST,
                        CASE WHEN $5 = 'desc' THEN key END DESC NULLS LAST,
                        CASE WHEN $5 = 'desc' THEN vehicle_id END DESC, vehicle_id
               LIMIT $6 OFFSET $7
             ) p ON true`,
            [from, to, q?.trim() || null, sort, order, lim, off, req.principal?.groups ?? null],
          );
          const total = r.rows[0]?.total ?? 0;
          const items = r.rows.filter((row) => row.vehicleId !== null).map(({ total: _, ...row }) => row);
          return { total, items };
        };
        if (format === "csv") {
          const u = csvUnits(units);
          let off = 0;
          return sendCsv<Row>(
            reply,
            `summary-${from}-${to}.csv`,
            [
              "vehicleId",
              "name",
              "days",
              "fixes",
              u.distance,
              "moving_h",
              "idle_h",
              u.speed("avg_speed"),
              u.speed("max_speed"),
            ],
            (r) => [
              r.vehicleId,
              r.name,
              String(r.days),
              String(r.fixes),
              u.km(r.distanceM),
              hours(r.movingS),
              hours(r.idleS),
              u.kmh(r.avgSpeedKmh),
              u.kmh(r.maxSpeedKmh),
            ],
            async () => {
              const page = await read(EXPORT_PAGE, off);
              off += EXPORT_PAGE;
              return page.items;
            },
          );
        }
        const page = await read(limit, offset);
        return { from, to, timeZone: config.FLEET_TZ, ...page, offset };
      },
    );
  };
}
