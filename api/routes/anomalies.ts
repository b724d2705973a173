import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import { visibleSql } from "../../core/vehicle-groups.ts";
import { errorSchema } from "../errors.ts";
import { isoSql } from "../iso-sql.ts";
import { idCursor, pageQuery, pageSchema, toPage } from "../pagination.ts";
import { vehicleIdSchema } from "../schemas.ts";

const query = pageQuery(1000, 100, idCursor).extend({
  vehicleId: vehicleIdSchema.optional(),
  kind: z.enum(["late", "duplicate", "skewed"]).optional(),
});

const anomalySchema = z.object({
  id: z.number().int(),
  vehicleId: z.string(),
  kind: z.enum(["late", "duplicate", "skewed"]),
  recordedAt: z.string(),
  receivedAt: z.string(),
  detail: z.string(),
});

/**
 * Late (older than the vehicle's newest fix when it arrived), duplicate (resent) and skewed
 * (device clock) fixes, as the worker recorded them; newest first. Counters per kind are in
 * /metrics (worker_anomalies:<kind>).
 */
export function anomalyRoutes(deps: { pool: pg.Pool }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/api/anomalies",
      {
        config: { access: "read", vehicles: "filtered" },
        schema: {
          tags: ["ingest"],
          summary: "late, duplicate and clock-skewed fixes, newest first",
          querystring: query,
          response: {
            200: pageSchema(anomalySchema),
            400: errorSchema,
          },
        },
      },
      async (req) => {
        const { vehicleId, kind, limit, cursor } = req.query;
        const r = await deps.pool.query<z.infer<typeof anomalySchema>>(
          `SELECT id::float8 AS id, vehicle_id AS "vehicleId", kind, ${isoSql("recorded_at")} AS "recordedAt",
                  ${isoSql("received_at")} AS "receivedAt", detail
           FROM location_anomalies
           WHERE ($1::bigint IS NULL OR id < $1) AND ($2::text IS NULL OR vehicle_id = $2)
             AND ($3::text IS NULL OR kind = $3) AND ${visibleSql("vehicle_id", "$5")}
           ORDER BY id DESC LIMIT $4`,
          [cursor ?? null, vehicleId ?? null, kind ?? null, limit + 1, req.principal?.groups ?? null],
        );
        return toPage(r.rows, limit, (last) => String(last.id));
      },
    );
  };
}
