import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import { ALERT_RULE_KINDS } from "../../core/alerts.ts";
import { visibleSql } from "../../core/vehicle-groups.ts";
import { errorSchema, sendError } from "../errors.ts";
import { isoSql } from "../iso-sql.ts";
import { idCursor, pageQuery, pageSchema, timeCursor, timeCursorOf, toPage } from "../pagination.ts";
import { vehicleIdSchema } from "../schemas.ts";
import { checkRange } from "../time-range.ts";

const query = pageQuery(1000, 200, timeCursor).extend({
  vehicleId: vehicleIdSchema.optional(),
  kind: z.enum(ALERT_RULE_KINDS).optional(),
  ruleId: idCursor.optional(),
  acknowledged: z.enum(["true", "false"]).optional().describe("only (un)acknowledged alerts"),
  from: z.iso.datetime({ offset: true }).optional().describe("alerts started at or after (ISO-8601)"),
  to: z.iso.datetime({ offset: true }).optional().describe("alerts started before (ISO-8601)"),
});

const alertSchema = z.object({
  id: z.number().int(),
  ruleId: z.number().int(),
  ruleName: z.string().describe("as it was when the episode started"),
  kind: z.enum(ALERT_RULE_KINDS),
  vehicleId: z.string(),
  startedAt: z.string().describe("event time: the first fix of the episode"),
  endedAt: z.string().nullable().describe("the first fix after it; null while it lasts"),
  peak: z.record(z.string(), z.number()).nullable().describe("e.g. {speedKmh} for speeding"),
  lat: z.number().nullable(),
  lng: z.number().nullable(),
  quiet: z.boolean().describe("started in the rule's quiet hours: not notified"),
  acknowledgedAt: z.string().nullable(),
  acknowledgedBy: z.string().nullable(),
});
type AlertRow = z.infer<typeof alertSchema>;

const SELECT = `SELECT id::float8 AS id, rule_id::float8 AS "ruleId", rule_name AS "ruleName", kind,
                       vehicle_id AS "vehicleId", ${isoSql("started_at")} AS "startedAt", ${isoSql("ended_at")} AS "endedAt",
                       peak, lat, lng, quiet, ${isoSql("acknowledged_at")} AS "acknowledgedAt",
                       acknowledged_by AS "acknowledgedBy" FROM alerts`;

/** Alert episodes (one row each, worker/derive/reconcile-alerts.ts), newest first, and their acknowledgement. */
export function alertRoutes(deps: { pool: pg.Pool }): FastifyPluginAsyncZod {
  const { pool } = deps;
  return async (app) => {
    app.get(
      "/api/alerts",
      {
        config: { access: "read", vehicles: "filtered" },
        schema: {
          tags: ["alerts"],
          summary: "alert episodes, newest first, by vehicle, kind, rule and start time",
          querystring: query,
          response: { 200: pageSchema(alertSchema), 400: errorSchema },
        },
      },
      async (req, reply) => {
        const { vehicleId, kind, ruleId, acknowledged, from, to, limit, cursor } = req.query;
        const range = from && to ? checkRange({ from, to }, Number.POSITIVE_INFINITY) : undefined;
        if (typeof range === "string")
          return sendError(reply, "E_VALIDATION", range, { field: "querystring.to" });
        const r = await pool.query<AlertRow>(
          `${SELECT}
           WHERE ($1::text IS NULL OR vehicle_id = $1) AND ($2::text IS NULL OR kind = $2)
             AND ($3::bigint IS NULL OR rule_id = $3)
             AND ($4::boolean IS NULL OR (acknowledged_at IS NOT NULL) = $4)
             AND ($5::timestamptz IS NULL OR started_at >= $5) AND ($6::timestamptz IS NULL OR started_at < $6)
             AND ($7::timestamptz IS NULL OR (started_at, id) < ($7, $8::bigint))
             AND ${visibleSql("vehicle_id", "$10")}
           ORDER BY started_at DESC, id DESC LIMIT $9`,
          [
            vehicleId ?? null,
            kind ?? null,
            ruleId ?? null,
            acknowledged === undefined ? null : acknowledged === "true",
            from ? new Date(from) : null,
            to ? new Date(to) : null,
            cursor?.t ?? null,
            cursor?.id ?? 0,
            limit + 1,
            req.principal?.groups ?? null,
          ],
        );
        return toPage(r.rows, limit, (last) => timeCursorOf(last.startedAt, last.id));
      },
    );

    app.post(
      "/api/alerts/:id/ack",
      {
        // a write like any other: a viewer reads the inbox, those who may operate handle it
        config: { access: "operate", vehicles: "filtered" },
        schema: {
          tags: ["alerts"],
          summary: "acknowledge an alert (who and when); acknowledging again keeps the first",
          params: z.object({ id: idCursor }),
          response: { 200: alertSchema, 400: errorSchema, 404: errorSchema },
        },
      },
      async (req, reply) => {
        const who = req.principal ? `${req.principal.kind}:${req.principal.name}` : "unknown";
        const r = await pool.query<AlertRow>(
          `WITH upd AS (
             UPDATE alerts SET acknowledged_at = COALESCE(acknowledged_at, now()),
               acknowledged_by = COALESCE(acknowledged_by, $2)
             WHERE id = $1 AND ${visibleSql("vehicle_id", "$3")} RETURNING *
           ) ${SELECT.replace("FROM alerts", "FROM upd")}`,
          [req.params.id, who, req.principal?.groups ?? null],
        );
        const row = r.rows[0];
        if (!row) return sendError(reply, "E_NOT_FOUND", `no alert ${req.params.id}`);
        return row;
      },
    );

    app.post(
      "/api/alerts/ack",
      {
        config: { access: "operate", vehicles: "filtered" },
        schema: {
          tags: ["alerts"],
          summary:
            'acknowledge the alerts listed (the inbox\'s "acknowledge all shown"); ids of alerts the caller does not see are skipped',
          body: z.strictObject({ ids: z.array(idCursor).min(1).max(1000) }),
          response: {
            200: z.object({
              acknowledged: z.array(z.number().int()).describe("the ids now acknowledged by this call"),
            }),
            400: errorSchema,
          },
        },
      },
      async (req) => {
        const who = req.principal ? `${req.principal.kind}:${req.principal.name}` : "unknown";
        // the ids listed, never a filter: alerts that arrived after the caller looked stay unacknowledged
        const r = await pool.query<{ id: number }>(
          `UPDATE alerts SET acknowledged_at = now(), acknowledged_by = $2
           WHERE id = ANY($1::bigint[]) AND acknowledged_at IS NULL AND ${visibleSql("vehicle_id", "$3")}
           RETURNING id::float8 AS id`,
          [req.body.ids, who, req.principal?.groups ?? null],
        );
        const acknowledged = r.rows.map((x) => x.id).sort((a, b) => a - b);
        req.audit.params = { acknowledged };
        return { acknowledged };
      },
    );
  };
}
