import type { FastifyInstance, FastifyRequest } from "fastify";
import type pg from "pg";
import { recordAudit } from "../core/audit.ts";

/** What a write route adds to its audit row beyond route, params and status (all optional). */
export interface AuditNote {
  /** who, when the route knows it better than the auth hook (a login names the account) */
  actor?: string;
  entity?: string;
  entityId?: string;
  before?: unknown;
  after?: unknown;
  /** extra parameters worth keeping (never a secret) */
  params?: Record<string, unknown>;
}

declare module "fastify" {
  interface FastifyRequest {
    audit: AuditNote;
  }
}

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** A write by a user or a script; device ingest is data, not a change anyone makes. */
export function isAuditedRoute(method: string, access: string | undefined): boolean {
  return WRITES.has(method) && access !== "device";
}

/** The kind of thing a route changes: the path segment after /api/ (vehicles, geofences, …). */
function entityOf(url: string): string {
  return /^\/api\/([^/]+)/.exec(url)?.[1] ?? url;
}

function entityIdOf(req: FastifyRequest): string | undefined {
  const p = (req.params ?? {}) as Record<string, unknown>;
  const id = p.id ?? p.username ?? p.name;
  return id === undefined ? undefined : String(id);
}

/**
 * Writes one audit_log row (sql/017_access_audit.sql) for every write request whose actor is
 * known: an authenticated caller, whatever the outcome (a refused attempt too), or a login's
 * account. Anonymous requests refused before the handler (401, a malformed login, a login over
 * its rate limit) change nothing and are not rows: an unauthenticated caller cannot grow an
 * append-only table. Written in onSend, before the answer leaves, so a client that has its
 * answer finds the row; a failed insert is logged and does not change the answer (the write it
 * describes has happened).
 */
export function registerAudit(app: FastifyInstance, pool: pg.Pool): void {
  app.decorateRequest("audit", null as unknown as AuditNote);
  app.addHook("onRequest", async (req) => {
    req.audit = {};
  });
  app.addHook("onSend", async (req, reply, payload) => {
    const url = req.routeOptions.url;
    if (req.is404 || url === undefined || !isAuditedRoute(req.method, req.routeOptions.config.access))
      return payload;
    const note = req.audit ?? {};
    const p = req.principal;
    const actor = note.actor ?? (p ? `${p.kind}:${p.name}` : undefined);
    if (!actor) return payload;
    try {
      await recordAudit(pool, {
        actor,
        source: "api",
        ip: req.ip,
        action: `${req.method} ${url}`,
        entity: note.entity ?? entityOf(url),
        entityId: note.entityId ?? entityIdOf(req) ?? null,
        params: { ...(req.params as object), ...note.params },
        status: reply.statusCode,
        before: note.before,
        after: note.after,
        requestId: req.id,
      });
    } catch (err) {
      req.log.error({ err, action: `${req.method} ${url}`, actor }, "audit row not written");
    }
    return payload;
  });
}
