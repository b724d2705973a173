import { createHash, randomBytes } from "node:crypto";
import type pg from "pg";
import type { Role } from "./users.ts";

/**
 * API tokens for scripts (`Authorization: Bearer …`): 256-bit random secrets, stored as SHA-256
 * (full entropy, so a fast hash suffices and a lookup is one index probe per request).
 */
export interface ApiToken {
  id: number;
  name: string;
  role: Role;
}

/** Which vehicles a token (or user) may see: null = every vehicle, else those of these groups. */
export type GroupScope = number[] | null;

export const TOKEN_PREFIX = "lt_";

export function newTokenValue(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
}

export function hashToken(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/**
 * Stores a token; `value` defaults to a fresh random one. The value exists only in the return.
 * `allVehicles: false` limits a non-admin token to its groups (core/vehicle-groups.ts).
 */
export async function addToken(
  pool: pg.Pool,
  t: { name: string; role: Role; value?: string; allVehicles?: boolean; expiresAt?: Date | null },
): Promise<ApiToken & { token: string; expiresAt: string | null }> {
  const token = t.value ?? newTokenValue();
  const r = await pool.query<ApiToken & { expiresAt: string | null }>(
    `INSERT INTO api_tokens (name, token_hash, role, all_vehicles, expires_at) VALUES ($1, $2, $3, $4, $5)
     RETURNING id::int, name, role, to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "expiresAt"`,
    [t.name, hashToken(token), t.role, t.allVehicles ?? true, t.expiresAt ?? null],
  );
  return { ...(r.rows[0] as ApiToken & { expiresAt: string | null }), token };
}

/**
 * The token with this value and the vehicles it may see, unless it is unknown or revoked. An
 * expired one is answered with `expired` set: the caller refuses it, saying why (E_TOKEN_EXPIRED);
 * `expiresAtMs` (epoch ms, null: never) closes its live sockets when it comes.
 */
export async function findToken(
  pool: pg.Pool,
  value: string,
): Promise<(ApiToken & { groups: GroupScope; expired: boolean; expiresAtMs: number | null }) | undefined> {
  const r = await pool.query<ApiToken & { groups: GroupScope; expired: boolean; expiresAtMs: number | null }>(
    `SELECT id::int, name, role, coalesce(expires_at <= now(), false) AS expired,
            (extract(epoch FROM expires_at) * 1000)::float8 AS "expiresAtMs",
            CASE WHEN role = 'admin' OR all_vehicles THEN NULL
                 ELSE array(SELECT g.group_id::float8 FROM token_groups g WHERE g.token_id = t.id) END AS groups
     FROM api_tokens t WHERE token_hash = $1 AND revoked_at IS NULL`,
    [hashToken(value)],
  );
  return r.rows[0];
}

/** How long a token may live at most: a longer-lived secret should be a deliberate "never". */
export const MAX_TOKEN_DAYS = 3650;

/** What is wrong with a token's expiry, if anything: it must be ahead, by MAX_TOKEN_DAYS at most. */
export function expiryProblem(at: Date, now = Date.now()): string | undefined {
  if (at.getTime() <= now) return "must be in the future";
  if (at.getTime() > now + MAX_TOKEN_DAYS * 86_400_000)
    return `at most ${MAX_TOKEN_DAYS} days away (leave it out for a token that never expires)`;
  return undefined;
}

/**
 * An expiry as the CLI takes it: `30d` (days from now) or an ISO 8601 date or time (expiryProblem
 * applies). A string: what is wrong with it.
 */
export function parseExpiry(text: string, now = Date.now()): Date | string {
  const days = /^(\d{1,5})d$/.exec(text);
  const at = days ? new Date(now + Number(days[1]) * 86_400_000) : new Date(text);
  if (Number.isNaN(at.getTime()) || (!days && !/^\d{4}-\d{2}-\d{2}/.test(text)))
    return `--expires: ${text} is neither <days>d nor an ISO 8601 date`;
  const problem = expiryProblem(at, now);
  return problem ? `--expires: ${text}: ${problem}` : at;
}

export interface ApiTokenRow extends ApiToken {
  allVehicles: boolean;
  groupIds: number[];
  createdAt: string;
  revokedAt: string | null;
  /** null: never expires */
  expiresAt: string | null;
}

/** Every token, revoked ones included (their value is never stored, so a list shows none). */
export async function listTokens(pool: pg.Pool): Promise<ApiTokenRow[]> {
  const r = await pool.query<ApiTokenRow>(
    `SELECT id::int, name, role, all_vehicles AS "allVehicles",
            array(SELECT g.group_id::int FROM token_groups g WHERE g.token_id = t.id ORDER BY 1) AS "groupIds",
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
            to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "revokedAt",
            to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "expiresAt"
     FROM api_tokens t ORDER BY id`,
  );
  return r.rows;
}

/**
 * Marks a token revoked and ends the sessions opened with it. The row stays as a tombstone:
 * replaceNamedToken must not bring a revoked ADMIN_TOKEN back at the next start. Undefined: no
 * such token; revoking a revoked token answers it again.
 */
export async function revokeToken(pool: pg.Pool, id: number): Promise<ApiToken | undefined> {
  // one statement, so no session of the token outlives its revocation
  const r = await pool.query<ApiToken>(
    `WITH t AS (UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1
                RETURNING id, name, role),
          s AS (DELETE FROM sessions WHERE token_id IN (SELECT id FROM t))
     SELECT id::int, name, role FROM t`,
    [id],
  );
  return r.rows[0];
}

/**
 * Replaces every token named `name` by one with this value (ADMIN_TOKEN set from the environment).
 * A value that was revoked stays revoked: the caller hears `false` and should say so.
 */
export async function replaceNamedToken(
  pool: pg.Pool,
  name: string,
  role: Role,
  value: string,
): Promise<boolean> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("DELETE FROM api_tokens WHERE name = $1 AND token_hash <> $2 AND revoked_at IS NULL", [
      name,
      hashToken(value),
    ]);
    const r = await client.query<{ revoked: boolean }>(
      `INSERT INTO api_tokens (name, token_hash, role) VALUES ($1, $2, $3)
       ON CONFLICT (token_hash) DO UPDATE SET role = EXCLUDED.role, name = EXCLUDED.name
       RETURNING revoked_at IS NOT NULL AS revoked`,
      [name, hashToken(value), role],
    );
    await client.query("COMMIT");
    return !r.rows[0]?.revoked;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
