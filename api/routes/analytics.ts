import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { visibleSql } from "../../core/vehicle-groups.ts";
import { errorSchema } from "../errors.ts";
import { isoSql } from "../iso-sql.ts";
import { pageQuery, pageSchema, toPage } from "../pagination.ts";
import { vehicleIdSchema } from "../schemas.ts";

const query = pageQuery(10_000, 1000, vehicleIdSchema).extend({
  date: z.iso.date().optional().describe("the fleet day (FLEET_TZ), YYYY-MM-DD; today's when absent"),
  vehicleId: vehicleIdSchema.optional(),
});

const rowSchema = z.object({
  vehicleId: z.string(),
  date: z.string(),
  fixes: z.number().int(),
  distanceM: z
    .number()
    .describe("geodesic, from consecutive fixes in time order at most TRIP_GAP_SECONDS apart"),
  movingS: z.number().describe("seconds in motion (speed >= MOVING_SPEED_KMH, ignition not off)"),
  idleS: z.number().describe("seconds with ignition on, standing"),
  gapS: z
    .number()
    .describe("seconds of silences (fixes more than TRIP_GAP_SECONDS apart): neither moving nor idle"),
  gapDistanceM: z.number().describe("straight-line estimate across those silences, not in distanceM"),
  avgSpeedKmh: z.number().nullable().describe("time-weighted while moving"),
  maxSpeedKmh: z.number().nullable(),
  firstFixAt: z.string(),
  lastFixAt: z.string(),
});

/**
 * Daily fleet analytics from the rollup table the worker maintains (worker/derive/daily-analytics.ts):
 * one row per vehicle for a fleet day. The rows outlive the raw history's retention.
 */
export function analyticsRoutes(deps: {
  pool: pg.Pool;
  config: Pick<Config, "FLEET_TZ">;
}): FastifyPluginAsyncZod {
  const { pool, config } = deps;
  return async (app) => {
    app.get(
      "/api/analytics/daily",
      {
        config: { access: "read", vehicles: "filtered" },
        schema: {
          tags: ["reports"],
          summary: `per-vehicle distance, speeds, moving and idle time for a day in ${config.FLEET_TZ}`,
          querystring: query,
          response: {
            200: pageSchema(rowSchema).extend({ date: z.string(), timeZone: z.string() }),
            400: errorSchema,
          },
        },
      },
      async (req) => {
        const { vehicleId, limit, cursor } = req.query;
        const date =
          req.query.date ??
          new Intl.DateTimeFormat("en-CA", { timeZone: config.FLEET_TZ }).format(new Date()).slice(0, 10);
        const r = await pool.query<z.infer<typeof rowSchema>>(
          `SELECT vehicle_id AS "vehicleId", to_char(day, 'YYYY-MM-DD') AS date, fixes, distance_m AS "distanceM",
                  moving_s AS "movingS", idle_s AS "idleS", gap_s AS "gapS", gap_distance_m AS "gapDistanceM",
                  avg_speed_kmh AS "avgSpeedKmh",
                  max_speed_kmh AS "maxSpeedKmh", ${isoSql("first_fix_at")} AS "firstFixAt",
                  ${isoSql("last_fix_at")} AS "lastFixAt"
           FROM daily_vehicle_stats
           WHERE day = $1::date AND ($2::text IS NULL OR vehicle_id = $2) AND ($3::text IS NULL OR vehicle_id > $3)
             AND ${visibleSql("vehicle_id", "$5")}
           ORDER BY vehicle_id LIMIT $4`,
          [date, vehicleId ?? null, cursor ?? null, limit + 1, req.principal?.groups ?? null],
        );
        return { date, timeZone: config.FLEET_TZ, ...toPage(r.rows, limit, (last) => last.vehicleId) };
      },
    );
  };
}
