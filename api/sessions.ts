import { createHash, randomBytes } from "node:crypto";
import type pg from "pg";
import type { SessionOwner } from "../core/account-admin.ts";
import type { GroupScope } from "../core/api-tokens.ts";
import { authSubject } from "../core/auth-revocations.ts";
import type { Role } from "../core/users.ts";

/**
 * Login sessions in PostgreSQL, next to the users and tokens they belong to: deleting a user or
 * a token ends its sessions (ON DELETE CASCADE), and a login keeps working while Redis (the
 * pipeline's store) restarts. The cost is one primary-key probe per cookie request.
 *
 * A session ends at its absolute expiry (SESSION_TTL_HOURS) or when idle for SESSION_IDLE_MINUTES,
 * whichever comes first; a disabled user's or a revoked token's sessions end at once.
 */
export const SESSION_COOKIE = "lt_session";

export interface Principal {
  kind: "user" | "token";
  /** user name or token name */
  name: string;
  role: Role;
  /** the user, or the token (Bearer, or the one a session was opened with) */
  owner: SessionOwner;
  /** what revoking ends this principal's open sockets by (core/auth-revocations.ts) */
  subjects: string[];
  /** the vehicle groups it may see; null = every vehicle (admins, whole-fleet grants) */
  groups: GroupScope;
  /**
   * epoch ms its credentials end at: a session's absolute expiry (SESSION_TTL_HOURS) or its
   * token's expiry (Bearer, or the token a session was opened with), whichever is first; null: never.
   * An open live socket is closed then (api/routes/live.ts): it makes no request to be refused.
   */
  expiresAt: number | null;
}

/** last_seen_at is written at most this often per session, not on every request */
const TOUCH_EVERY_S = 60;

function hashId(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

export async function createSession(
  pool: pg.Pool,
  owner: SessionOwner,
  ttlHours: number,
): Promise<{ value: string; expiresAt: Date }> {
  const value = randomBytes(32).toString("base64url");
  const expiresAt = new Date(Date.now() + ttlHours * 3_600_000);
  await pool.query("DELETE FROM sessions WHERE expires_at < now()");
  await pool.query("INSERT INTO sessions (id_hash, user_id, token_id, expires_at) VALUES ($1, $2, $3, $4)", [
    hashId(value),
    "userId" in owner ? owner.userId : null,
    "tokenId" in owner ? owner.tokenId : null,
    expiresAt,
  ]);
  return { value, expiresAt };
}

/** The principal of a live session; undefined when unknown, expired, idle too long or revoked. */
export async function findSession(
  pool: pg.Pool,
  value: string,
  idleMinutes: number,
): Promise<Principal | undefined> {
  const idHash = hashId(value);
  const r = await pool.query<{
    user_id: number | null;
    token_id: number | null;
    name: string;
    role: Role;
    stale: boolean;
    groups: GroupScope;
    token_expires_ms: number | null;
    session_expires_ms: number;
  }>(
    `SELECT u.id::int AS user_id, t.id::int AS token_id, coalesce(u.username, t.name) AS name,
            (extract(epoch FROM t.expires_at) * 1000)::float8 AS token_expires_ms,
            (extract(epoch FROM s.expires_at) * 1000)::float8 AS session_expires_ms,
            coalesce(u.role, t.role) AS role, s.last_seen_at < now() - make_interval(secs => $3) AS stale,
            CASE WHEN coalesce(u.role, t.role) = 'admin' OR coalesce(u.all_vehicles, t.all_vehicles) THEN NULL
                 WHEN u.id IS NOT NULL THEN array(SELECT g.group_id::float8 FROM user_groups g WHERE g.user_id = u.id)
                 ELSE array(SELECT g.group_id::float8 FROM token_groups g WHERE g.token_id = t.id) END AS groups
     FROM sessions s LEFT JOIN users u ON u.id = s.user_id LEFT JOIN api_tokens t ON t.id = s.token_id
     WHERE s.id_hash = $1 AND s.expires_at > now() AND s.last_seen_at > now() - make_interval(mins => $2)
       AND (u.disabled_at IS NULL AND t.revoked_at IS NULL) AND coalesce(u.id, t.id) IS NOT NULL
       AND NOT coalesce(t.expires_at <= now(), false)`,
    [idHash, idleMinutes, TOUCH_EVERY_S],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  if (row.stale) await pool.query("UPDATE sessions SET last_seen_at = now() WHERE id_hash = $1", [idHash]);
  const user = row.user_id !== null;
  const id = row.user_id ?? row.token_id ?? 0;
  return {
    kind: user ? "user" : "token",
    name: row.name,
    role: row.role,
    owner: user ? { userId: id } : { tokenId: id },
    subjects: [authSubject.session(idHash), user ? authSubject.user(id) : authSubject.token(id)],
    groups: row.groups,
    expiresAt: Math.min(row.session_expires_ms, row.token_expires_ms ?? Number.POSITIVE_INFINITY),
  };
}

/**
 * Ends one session; resolves with its subject, so that its open sockets can be closed too, and
 * whose it was (`user:<name>` or `token:<name>`; undefined when no such session was open).
 */
export async function deleteSession(
  pool: pg.Pool,
  value: string,
): Promise<{ subject: string; owner: string | undefined }> {
  const idHash = hashId(value);
  const r = await pool.query<{ owner: string }>(
    `WITH d AS (DELETE FROM sessions WHERE id_hash = $1 RETURNING user_id, token_id)
     SELECT coalesce('user:' || u.username, 'token:' || t.name) AS owner
     FROM d LEFT JOIN users u ON u.id = d.user_id LEFT JOIN api_tokens t ON t.id = d.token_id`,
    [idHash],
  );
  return { subject: authSubject.session(idHash), owner: r.rows[0]?.owner };
}
