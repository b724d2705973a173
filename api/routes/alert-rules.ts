import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import { alertParamsSchemas, alertScopeSchema, quietHoursSchema } from "../../core/alert-params.ts";
import { ALERT_RULE_KINDS, type AlertRuleKind } from "../../core/alerts.ts";
import type { GroupScope } from "../../core/api-tokens.ts";
import { canSee } from "../../core/vehicle-groups.ts";
import { errorSchema, sendError } from "../errors.ts";
import { isoSql } from "../iso-sql.ts";
import { idCursor, pageQuery, toPage } from "../pagination.ts";
import { ifMatchHeaders, parseIfMatch } from "../schemas.ts";

const idParams = z.object({ id: idCursor });
const channelIds = z
  .array(
    z
      .number()
      .int()
      .positive()
      .max(2 ** 53),
  )
  .max(20)
  .refine((ids) => new Set(ids).size === ids.length, "a channel is named once");

const ruleFields = {
  name: z.string().trim().min(1).max(200),
  params: z.record(z.string(), z.unknown()).describe("per kind, e.g. speeding {limitKmh, minSeconds}"),
  scope: alertScopeSchema.describe("fleet, a vehicle group or a vehicle"),
  channelIds: channelIds.describe("notification channels"),
  quietHours: quietHoursSchema
    .nullable()
    .describe('{"from":"22:00","to":"06:00"} in FLEET_TZ: alerts stored, not notified'),
  enabled: z.boolean(),
};
const createBody = z.object({
  ...ruleFields,
  kind: z.enum(ALERT_RULE_KINDS),
  scope: ruleFields.scope.default({ kind: "fleet" }),
  channelIds: ruleFields.channelIds.default([]),
  quietHours: ruleFields.quietHours.default(null),
  enabled: ruleFields.enabled.default(true),
});
const patchBody = z
  .object(ruleFields)
  .partial()
  .extend({ kind: z.enum(ALERT_RULE_KINDS).optional() });

export const alertRuleSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  kind: z.enum(ALERT_RULE_KINDS),
  params: z.record(z.string(), z.unknown()),
  scope: alertScopeSchema,
  channelIds: z.array(z.number().int()),
  quietHours: z.object({ from: z.string(), to: z.string() }).nullable(),
  enabled: z.boolean(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
type Rule = z.infer<typeof alertRuleSchema>;

const SELECT = `SELECT id::float8 AS id, name, kind, params, scope, channel_ids::float8[] AS "channelIds",
                       quiet_hours AS "quietHours", enabled, version, ${isoSql("created_at")} AS "createdAt",
                       ${isoSql("updated_at")} AS "updatedAt" FROM alert_rules`;

/**
 * Alert rules (core/alerts.ts): read by every role (fleet-wide objects, like geofences), written
 * by admins and operators; an operator limited to groups writes only rules scoped to one of its
 * groups or to a vehicle it sees, and only changes or removes such rules. Params are checked per kind
 * (offline and no_fix are judged by the worker's wall-clock sweep, worker/derive/presence-alerts.ts).
 * Every save is a version (sql/013_alerts.sql): an edit applies to fixes recorded after it.
 */
export function alertRuleRoutes(deps: { pool: pg.Pool }): FastifyPluginAsyncZod {
  const { pool } = deps;
  const notFound = (reply: FastifyReply, id: number) =>
    sendError(reply, "E_NOT_FOUND", `no alert rule ${id}`);

  /**
   * A reason the rule cannot be stored (answered as E_VALIDATION on its field): bad params, or a group,
   * vehicle, geofence or channel that does not exist (such a rule would never fire or never notify).
   */
  async function check(
    kind: AlertRuleKind,
    params: Record<string, unknown> | undefined,
    scope: z.infer<typeof alertScopeSchema> | undefined,
    channelIds?: number[],
  ): Promise<{ field: string; message: string } | undefined> {
    if (params !== undefined) {
      const parsed = alertParamsSchemas[kind].safeParse(params);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = ["body.params", ...(issue?.path ?? []).map(String)].join(".");
        return { field, message: `${field}: ${issue?.message ?? "invalid"} (for kind ${kind})` };
      }
    }
    if (scope?.kind === "group") {
      const g = await pool.query("SELECT 1 FROM vehicle_groups WHERE id = $1", [scope.groupId]);
      if (g.rowCount === 0)
        return { field: "body.scope.groupId", message: `body.scope.groupId: no group ${scope.groupId}` };
    }
    if (scope?.kind === "vehicle") {
      const v = await pool.query("SELECT 1 FROM vehicles WHERE id = $1", [scope.vehicleId]);
      if (v.rowCount === 0)
        return {
          field: "body.scope.vehicleId",
          message: `body.scope.vehicleId: no vehicle ${scope.vehicleId}`,
        };
    }
    const geofenceId = params?.geofenceId;
    if (typeof geofenceId === "number") {
      const g = await pool.query("SELECT 1 FROM geofences WHERE id = $1", [geofenceId]);
      if (g.rowCount === 0)
        return {
          field: "body.params.geofenceId",
          message: `body.params.geofenceId: no geofence ${geofenceId}`,
        };
    }
    if (channelIds?.length) {
      const known = await pool.query<{ id: number }>(
        "SELECT id::float8 AS id FROM notification_channels WHERE id = ANY($1::bigint[])",
        [channelIds],
      );
      const missing = channelIds.filter((id) => !known.rows.some((r) => r.id === id));
      if (missing.length > 0)
        return {
          field: "body.channelIds",
          message: `body.channelIds: no notification channel ${missing.join(", ")}`,
        };
    }
    return undefined;
  }

  /** Whether a caller limited to `groups` (null: not limited) may own a rule of this scope. */
  async function mayOwn(groups: GroupScope, scope: z.infer<typeof alertScopeSchema>): Promise<boolean> {
    if (groups === null) return true;
    if (scope.kind === "group") return groups.includes(scope.groupId);
    if (scope.kind === "vehicle") return canSee(pool, groups, scope.vehicleId);
    return false;
  }
  const outOfScope = (reply: FastifyReply) =>
    sendError(
      reply,
      "E_FORBIDDEN",
      "body.scope: limited to your groups, a rule must be scoped to one of them or to a vehicle of them",
      { field: "body.scope" },
    );

  return async (app) => {
    app.get(
      "/api/alert-rules",
      {
        config: { access: "read", vehicles: "fleet" },
        schema: {
          tags: ["alerts"],
          summary: "alert rules, by id",
          querystring: pageQuery(1000, 100, idCursor),
          response: {
            200: z.object({ items: z.array(alertRuleSchema), nextCursor: z.string().nullable() }),
            400: errorSchema,
          },
        },
      },
      async (req) => {
        const { limit, cursor } = req.query;
        const r = await pool.query<Rule>(`${SELECT} WHERE id > $1 ORDER BY id LIMIT $2`, [
          cursor ?? 0,
          limit + 1,
        ]);
        return toPage(r.rows, limit, (last) => String(last.id));
      },
    );

    app.get(
      "/api/alert-rules/:id",
      {
        config: { access: "read", vehicles: "fleet" },
        schema: {
          tags: ["alerts"],
          params: idParams,
          response: { 200: alertRuleSchema, 400: errorSchema, 404: errorSchema },
        },
      },
      async (req, reply) => {
        const row = (await pool.query<Rule>(`${SELECT} WHERE id = $1`, [req.params.id])).rows[0];
        if (!row) return notFound(reply, req.params.id);
        reply.header("etag", `"${row.version}"`);
        return row;
      },
    );

    app.post(
      "/api/alert-rules",
      {
        config: { access: "operate", vehicles: "fleet" },
        schema: {
          tags: ["alerts"],
          summary: "create an alert rule; params are validated for its kind",
          body: createBody,
          response: { 201: alertRuleSchema, 400: errorSchema },
        },
      },
      async (req, reply) => {
        const b = req.body;
        const bad = await check(b.kind, b.params, b.scope, b.channelIds);
        if (bad) return sendError(reply, "E_VALIDATION", bad.message, { field: bad.field });
        if (!(await mayOwn(req.principal?.groups ?? null, b.scope))) return outOfScope(reply);
        const r = await pool.query<Rule>(
          `WITH ins AS (
             INSERT INTO alert_rules (name, kind, params, scope, channel_ids, quiet_hours, enabled)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *
           ) ${SELECT.replace("FROM alert_rules", "FROM ins")}`,
          [
            b.name,
            b.kind,
            b.params,
            b.scope,
            b.channelIds,
            b.quietHours && JSON.stringify(b.quietHours),
            b.enabled,
          ],
        );
        const row = r.rows[0] as Rule;
        reply.code(201).header("location", `/api/alert-rules/${row.id}`);
        req.audit.entityId = String(row.id);
        req.audit.after = row;
        return row;
      },
    );

    app.patch(
      "/api/alert-rules/:id",
      {
        config: { access: "operate", vehicles: "fleet" },
        schema: {
          tags: ["alerts"],
          summary: "change a rule (not its kind); with If-Match, only if it is still at that version",
          params: idParams,
          headers: ifMatchHeaders,
          body: patchBody,
          response: { 200: alertRuleSchema, 400: errorSchema, 404: errorSchema, 409: errorSchema },
        },
      },
      async (req, reply) => {
        const version = parseIfMatch(req.headers["if-match"]);
        if (Number.isNaN(version))
          return sendError(reply, "E_VALIDATION", "headers.if-match: must be a version number", {
            field: "headers.if-match",
          });
        const cur = (await pool.query<Rule>(`${SELECT} WHERE id = $1`, [req.params.id])).rows[0];
        if (!cur) return notFound(reply, req.params.id);
        const b = req.body;
        if (b.kind !== undefined && b.kind !== cur.kind)
          return sendError(
            reply,
            "E_VALIDATION",
            "body.kind: a rule's kind cannot change; create another rule",
            {
              field: "body.kind",
            },
          );
        const bad = await check(cur.kind, b.params, b.scope, b.channelIds);
        if (bad) return sendError(reply, "E_VALIDATION", bad.message, { field: bad.field });
        const groups = req.principal?.groups ?? null;
        if (!(await mayOwn(groups, cur.scope))) return notFound(reply, req.params.id);
        if (b.scope && !(await mayOwn(groups, b.scope))) return outOfScope(reply);
        req.audit.before = cur;
        const r = await pool.query<Rule>(
          `WITH upd AS (
             UPDATE alert_rules SET name = COALESCE($2, name), params = COALESCE($3, params),
               scope = COALESCE($4, scope), channel_ids = COALESCE($5, channel_ids),
               quiet_hours = CASE WHEN $6::boolean THEN $7::jsonb ELSE quiet_hours END,
               enabled = COALESCE($8, enabled), version = version + 1, updated_at = now()
             WHERE id = $1 AND ($9::int IS NULL OR version = $9) RETURNING *
           ) ${SELECT.replace("FROM alert_rules", "FROM upd")}`,
          [
            req.params.id,
            b.name ?? null,
            b.params ?? null,
            b.scope ?? null,
            b.channelIds ?? null,
            b.quietHours !== undefined,
            b.quietHours ? JSON.stringify(b.quietHours) : null,
            b.enabled ?? null,
            version ?? null,
          ],
        );
        const row = r.rows[0];
        if (!row)
          return sendError(
            reply,
            "E_VERSION_CONFLICT",
            `version ${version} is stale; the rule is at ${cur.version}`,
            {
              currentVersion: cur.version,
            },
          );
        reply.header("etag", `"${row.version}"`);
        req.audit.after = row;
        return row;
      },
    );

    app.delete(
      "/api/alert-rules/:id",
      {
        config: { access: "operate", vehicles: "fleet" },
        schema: {
          tags: ["alerts"],
          summary: "remove a rule; its alerts stay",
          params: idParams,
          response: { 204: z.null().describe("removed"), 400: errorSchema, 404: errorSchema },
        },
      },
      async (req, reply) => {
        const cur = (await pool.query<Rule>(`${SELECT} WHERE id = $1`, [req.params.id])).rows[0];
        if (!cur || !(await mayOwn(req.principal?.groups ?? null, cur.scope)))
          return notFound(reply, req.params.id);
        req.audit.before = cur;
        const r = await pool.query("DELETE FROM alert_rules WHERE id = $1", [req.params.id]);
        if (r.rowCount === 0) return notFound(reply, req.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
