import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";
import type pg from "pg";

/**
 * Fleet managers: users with a role, passwords hashed with scrypt. admin: everything; operator:
 * vehicles, geofences, alert rules and commands of the vehicles it may see; viewer: reads them.
 * Which vehicles a non-admin sees is its grant (core/vehicle-groups.ts).
 */
export const ROLES = ["admin", "operator", "viewer"] as const;
export type Role = (typeof ROLES)[number];

export const USERNAME_RE = /^[A-Za-z0-9_.@-]{1,64}$/;
export const MIN_PASSWORD_LENGTH = 8;

export interface User {
  id: number;
  username: string;
  role: Role;
}

export class UserExistsError extends Error {
  override name = "UserExistsError";
}

// OWASP's scrypt minimum (N=2^17 would cost 128 MB per login); ~50 ms per hash here.
const PARAMS = { N: 16_384, r: 8, p: 1 };
const KEY_LEN = 32;

function derive(password: string, salt: Buffer, o: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LEN, { ...o, maxmem: 256 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** `scrypt$N$r$p$salt$hash`, salt and hash base64url: parameters travel with the hash. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS);
  return ["scrypt", PARAMS.N, PARAMS.r, PARAMS.p, salt.toString("base64url"), key.toString("base64url")].join(
    "$",
  );
}

export async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64url");
  const key = await derive(password, Buffer.from(salt, "base64url"), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

// Compared against when the user does not exist, so an unknown name costs as much as a wrong
// password and login timing does not reveal which names exist.
let dummyHash: Promise<string> | undefined;
function dummy(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString("hex"));
  return dummyHash;
}

/** `allVehicles: false` limits a non-admin to its groups (core/vehicle-groups.ts), none until given some. */
export async function addUser(
  pool: pg.Pool,
  u: { username: string; password: string; role: Role; allVehicles?: boolean },
): Promise<User> {
  if (!USERNAME_RE.test(u.username))
    throw new RangeError(`username must match [A-Za-z0-9_.@-]{1,64}: ${JSON.stringify(u.username)}`);
  if (u.password.length < MIN_PASSWORD_LENGTH)
    throw new RangeError(`password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  try {
    const r = await pool.query<User>(
      `INSERT INTO users (username, password_hash, role, all_vehicles) VALUES ($1, $2, $3, $4)
       RETURNING id::int, username, role`,
      [u.username, await hashPassword(u.password), u.role, u.allVehicles ?? true],
    );
    return r.rows[0] as User;
  } catch (err) {
    if ((err as { code?: string }).code === "23505") throw new UserExistsError(`user ${u.username} exists`);
    throw err;
  }
}

/** The user if the password is right; undefined otherwise (unknown or disabled user, wrong password). */
export async function verifyUser(
  pool: pg.Pool,
  username: string,
  password: string,
): Promise<User | undefined> {
  const r = await pool.query<User & { hash: string }>(
    "SELECT id::int, username, role, password_hash AS hash FROM users WHERE username = $1 AND disabled_at IS NULL",
    [username],
  );
  const row = r.rows[0];
  const ok = await passwordMatches(password, row?.hash ?? (await dummy()));
  return row && ok ? { id: row.id, username: row.username, role: row.role } : undefined;
}

export interface UserRow extends User {
  disabled: boolean;
  /** sees every vehicle (admins always do) */
  allVehicles: boolean;
  /** the vehicle groups granted */
  groupIds: number[];
  createdAt: string;
  /** live (unexpired) login sessions */
  sessions: number;
}

export async function listUsers(pool: pg.Pool): Promise<UserRow[]> {
  const r = await pool.query<UserRow>(
    `SELECT u.id::int, u.username, u.role, u.disabled_at IS NOT NULL AS disabled,
            u.all_vehicles AS "allVehicles",
            array(SELECT g.group_id::int FROM user_groups g WHERE g.user_id = u.id ORDER BY 1) AS "groupIds",
            to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
            (SELECT count(*)::int FROM sessions s WHERE s.user_id = u.id AND s.expires_at > now()) AS sessions
     FROM users u ORDER BY u.username`,
  );
  return r.rows;
}

/**
 * Disables (or enables again) a user; disabling also ends its sessions, in the same statement.
 * A disabled user stays listed (who did what remains readable) but cannot log in.
 */
export async function setUserDisabled(
  pool: pg.Pool,
  username: string,
  disabled: boolean,
): Promise<User | undefined> {
  const r = await pool.query<User>(
    `WITH u AS (UPDATE users SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END
                WHERE username = $1 RETURNING id, username, role),
          s AS (DELETE FROM sessions WHERE $2 AND user_id IN (SELECT id FROM u))
     SELECT id::int, username, role FROM u`,
    [username, disabled],
  );
  return r.rows[0];
}

/**
 * Sets a user's password (an admin's reset) and ends its sessions in the same statement: whoever
 * held the old password is out. Undefined: no such user.
 */
export async function setPassword(
  pool: pg.Pool,
  username: string,
  password: string,
): Promise<User | undefined> {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new RangeError(`password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  const r = await pool.query<User>(
    `WITH u AS (UPDATE users SET password_hash = $2 WHERE username = $1 RETURNING id, username, role),
          s AS (DELETE FROM sessions WHERE user_id IN (SELECT id FROM u))
     SELECT id::int, username, role FROM u`,
    [username, await hashPassword(password)],
  );
  return r.rows[0];
}

/** Deletes a user; its sessions go with it (ON DELETE CASCADE). */
export async function removeUser(pool: pg.Pool, username: string): Promise<User | undefined> {
  const r = await pool.query<User>(
    "DELETE FROM users WHERE username = $1 RETURNING id::int, username, role",
    [username],
  );
  return r.rows[0];
}

/** Whether a user is disabled; undefined when there is no such user (the audit log's "before"). */
export async function isUserDisabled(pool: pg.Pool, username: string): Promise<boolean | undefined> {
  const r = await pool.query<{ disabled: boolean }>(
    "SELECT disabled_at IS NOT NULL AS disabled FROM users WHERE username = $1",
    [username],
  );
  return r.rows[0]?.disabled;
}

export async function getUser(pool: pg.Pool, username: string): Promise<User | undefined> {
  const r = await pool.query<User>("SELECT id::int, username, role FROM users WHERE username = $1", [
    username,
  ]);
  return r.rows[0];
}
