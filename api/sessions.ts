import { createHash, randomBytes } from "node:crypto";
import type pg from "pg";
import type { Role } from "../core/users.ts";

/**
 * Login sessions in PostgreSQL, next to the users and tokens they belong to: deleting a user or
 * a token ends its sessions (ON DELETE CASCADE), and a login keeps working while Redis (the
 * pipeline's store) restarts. The cost is one primary-key probe per cookie request.
 */
export const SESSION_COOKIE = "lt_session";

export interface Principal {
  kind: "user" | "token";
  /** user name or token name */
  name: string;
  role: Role;
}

function hashId(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

export async function createSession(
  pool: pg.Pool,
  owner: { userId: number } | { tokenId: number },
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

export async function findSession(pool: pg.Pool, value: string): Promise<Principal | undefined> {
  const r = await pool.query<Principal>(
    `SELECT CASE WHEN u.id IS NOT NULL THEN 'user' ELSE 'token' END AS kind,
            coalesce(u.username, t.name) AS name, coalesce(u.role, t.role) AS role
     FROM sessions s LEFT JOIN users u ON u.id = s.user_id LEFT JOIN api_tokens t ON t.id = s.token_id
     WHERE s.id_hash = $1 AND s.expires_at > now()`,
    [hashId(value)],
  );
  return r.rows[0];
}

export async function deleteSession(pool: pg.Pool, value: string): Promise<void> {
  await pool.query("DELETE FROM sessions WHERE id_hash = $1", [hashId(value)]);
}
