import type pg from "pg";

/**
 * The audit log (sql/017_access_audit.sql): one row per write through the API (api/audit-hook.ts)
 * or the CLI (scripts/cli.ts). PostgreSQL refuses UPDATE, DELETE and TRUNCATE on the table, so a
 * row once written stays as written.
 */
export interface AuditEntry {
  /** "user:<name>", "token:<name>", "cli:<os user>" */
  actor: string;
  source: "api" | "cli";
  ip: string | null;
  /** "PATCH /api/vehicles/:id", or the CLI command */
  action: string;
  /** what kind of thing: vehicles, geofences, users, … */
  entity: string;
  entityId: string | null;
  params: Record<string, unknown>;
  /** HTTP status, or the CLI's exit code */
  status: number;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export interface AuditRow extends AuditEntry {
  id: number;
  at: string;
}

const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));

export async function recordAudit(pool: pg.Pool, e: AuditEntry): Promise<void> {
  await pool.query(
    `INSERT INTO audit_log (actor, source, ip, action, entity, entity_id, params, status, before, after, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      e.actor,
      e.source,
      e.ip,
      e.action,
      e.entity,
      e.entityId,
      JSON.stringify(e.params),
      e.status,
      json(e.before),
      json(e.after),
      e.requestId,
    ],
  );
}

export interface AuditFilter {
  actor?: string | undefined;
  /** part of the action, any case: "groups" finds every write to /api/groups… */
  action?: string | undefined;
  entity?: string | undefined;
  entityId?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  /** newest first (by id, the order rows were written): rows with a smaller id */
  beforeId?: number | undefined;
  limit: number;
}

/** Rows matching every given filter, newest first, `limit` of them. */
export async function listAudit(pool: pg.Pool, f: AuditFilter): Promise<AuditRow[]> {
  const r = await pool.query<AuditRow>(
    `SELECT id::float8 AS id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, actor,
            source, ip, action, entity, entity_id AS "entityId", params, status, before, after,
            request_id AS "requestId"
     FROM audit_log
     WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR entity = $2)
       AND ($3::text IS NULL OR entity_id = $3)
       AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5)
       AND ($6::bigint IS NULL OR id < $6)
       AND ($8::text IS NULL OR strpos(lower(action), lower($8)) > 0)
     ORDER BY id DESC LIMIT $7`,
    [
      f.actor ?? null,
      f.entity ?? null,
      f.entityId ?? null,
      f.from ?? null,
      f.to ?? null,
      f.beforeId ?? null,
      f.limit,
      f.action ?? null,
    ],
  );
  return r.rows;
}
