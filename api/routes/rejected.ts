import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import { REJECT_REASONS } from "../../core/reject-reasons.ts";
import { visibleSql } from "../../core/vehicle-groups.ts";
import { errorSchema } from "../errors.ts";
import { idCursor, pageQuery, pageSchema, toPage } from "../pagination.ts";
import { vehicleIdSchema } from "../schemas.ts";

const query = pageQuery(1000, 100, idCursor).extend({
  vehicleId: vehicleIdSchema.optional(),
  reason: z.enum(Object.keys(REJECT_REASONS) as [keyof typeof REJECT_REASONS]).optional(),
});

const rejectedSchema = z.object({
  id: z.number().int(),
  vehicleId: z.string(),
  topic: z.string(),
  payload: z.string().describe("the raw payload, cut to 4 KB"),
  reason: z.string(),
  detail: z.string(),
  messageId: z.string().nullable(),
  receivedAt: z.string(),
});

/** The dead letter: rejected messages, newest first. */
export function rejectedRoutes(deps: { pool: pg.Pool }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/api/rejected",
      {
        config: { access: "read", vehicles: "filtered" },
        schema: {
          tags: ["ingest"],
          summary: "rejected messages (dead letter), newest first",
          querystring: query,
          response: {
            200: pageSchema(rejectedSchema),
            400: errorSchema,
          },
        },
      },
      async (req) => {
        const { limit, cursor, vehicleId, reason } = req.query;
        const r = await deps.pool.query<z.infer<typeof rejectedSchema>>(
          `SELECT id::float8 AS id, vehicle_id AS "vehicleId", topic, payload, reason, detail,
                  message_id AS "messageId",
                  to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "receivedAt"
           FROM rejected_messages
           WHERE ($1::bigint IS NULL OR id < $1) AND ($2::text IS NULL OR vehicle_id = $2)
             AND ($3::text IS NULL OR reason = $3) AND ${visibleSql("vehicle_id", "$5")}
           ORDER BY id DESC LIMIT $4`,
          [cursor ?? null, vehicleId ?? null, reason ?? null, limit + 1, req.principal?.groups ?? null],
        );
        return toPage(r.rows, limit, (last) => String(last.id));
      },
    );
  };
}
