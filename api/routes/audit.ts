import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import { listAudit } from "../../core/audit.ts";
import { errorSchema, sendError } from "../errors.ts";
import { idCursor, pageQuery, pageSchema, toPage } from "../pagination.ts";
import { checkRange } from "../time-range.ts";

const query = pageQuery(1000, 100, idCursor).extend({
  actor: z.string().max(200).optional().describe('exactly, e.g. "user:alice", "token:ci", "cli:root"'),
  action: z
    .string()
    .max(200)
    .optional()
    .describe('part of the action, any case: "groups", "PATCH /api/vehicles/:id", "vehicle add"'),
  entity: z.string().max(64).optional().describe("vehicles, geofences, alert-rules, groups, users, …"),
  entityId: z.string().max(200).optional(),
  from: z.iso.datetime({ offset: true }).optional().describe("rows at or after (ISO-8601)"),
  to: z.iso.datetime({ offset: true }).optional().describe("rows before (ISO-8601)"),
});

const rowSchema = z.object({
  id: z.number().int(),
  at: z.string(),
  actor: z.string(),
  source: z.enum(["api", "cli"]),
  ip: z.string().nullable(),
  action: z.string().describe('"PATCH /api/vehicles/:id", or the CLI command'),
  entity: z.string(),
  entityId: z.string().nullable(),
  params: z.record(z.string(), z.unknown()),
  status: z.number().int().describe("HTTP status, or the CLI's exit code"),
  before: z.unknown().describe("the entity before the change, where the route records it"),
  after: z.unknown().describe("the entity after the change, where the route records it"),
  requestId: z.string().nullable(),
});

/** The audit log (core/audit.ts), newest first, for admins: who changed what, when, from where. */
export function auditRoutes(deps: { pool: pg.Pool }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/api/audit",
      {
        config: { access: "write" },
        schema: {
          tags: ["access"],
          summary:
            "every write through the API or the CLI, newest first; filter by actor, action, entity, id, time",
          querystring: query,
          response: { 200: pageSchema(rowSchema), 400: errorSchema },
        },
      },
      async (req, reply) => {
        const { actor, action, entity, entityId, from, to, limit, cursor } = req.query;
        const range = from && to ? checkRange({ from, to }, Number.POSITIVE_INFINITY) : undefined;
        if (typeof range === "string")
          return sendError(reply, "E_VALIDATION", range, { field: "querystring.to" });
        const rows = await listAudit(deps.pool, {
          actor,
          action,
          entity,
          entityId,
          from: from ? new Date(from) : undefined,
          to: to ? new Date(to) : undefined,
          beforeId: cursor,
          limit: limit + 1,
        });
        return toPage(rows, limit, (last) => String(last.id));
      },
    );
  };
}
