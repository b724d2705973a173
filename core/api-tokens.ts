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

export const TOKEN_PREFIX = "lt_";

export function newTokenValue(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
}

export function hashToken(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/** Stores a token; `value` defaults to a fresh random one. The value exists only in the return. */
export async function addToken(
  pool: pg.Pool,
  t: { name: string; role: Role; value?: string },
): Promise<ApiToken & { token: string }> {
  const token = t.value ?? newTokenValue();
  const r = await pool.query<ApiToken>(
    "INSERT INTO api_tokens (name, token_hash, role) VALUES ($1, $2, $3) RETURNING id::int, name, role",
    [t.name, hashToken(token), t.role],
  );
  return { ...(r.rows[0] as ApiToken), token };
}

export async function findToken(pool: pg.Pool, value: string): Promise<ApiToken | undefined> {
  const r = await pool.query<ApiToken>("SELECT id::int, name, role FROM api_tokens WHERE token_hash = $1", [
    hashToken(value),
  ]);
  return r.rows[0];
}

/** Replaces every token named `name` by one with this value (ADMIN_TOKEN set from the environment). */
export async function replaceNamedToken(
  pool: pg.Pool,
  name: string,
  role: Role,
  value: string,
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("DELETE FROM api_tokens WHERE name = $1 AND token_hash <> $2", [
      name,
      hashToken(value),
    ]);
    await client.query(
      `INSERT INTO api_tokens (name, token_hash, role) VALUES ($1, $2, $3)
       ON CONFLICT (token_hash) DO UPDATE SET role = EXCLUDED.role, name = EXCLUDED.name`,
      [name, hashToken(value), role],
    );
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
