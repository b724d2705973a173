import type pg from "pg";
import { publishAccessChanged } from "./access-changes.ts";
import type { GroupScope } from "./api-tokens.ts";
import type { Redis } from "./redis.ts";

/**
 * Vehicle groups (sql/013_alerts.sql) and who may see them (sql/017_access_audit.sql): users, API
 * tokens and MQTT integration accounts are granted either the whole fleet or a set of groups.
 * Every change is announced (core/access-changes.ts), so open /ws sockets and MQTT integration
 * sessions re-read what they may see at once instead of at their next login.
 */
export interface VehicleGroup {
  id: number;
  name: string;
  vehicles: number;
}

export interface Grant {
  allVehicles: boolean;
  groupIds: number[];
}

/** Whose grant: a user by name, an API token by id, an integration account by name. */
export type Grantee = { user: string } | { token: number } | { integration: string };

export class GroupExistsError extends Error {
  override name = "GroupExistsError";
}

/** Groups by id; `only` (a non-admin's groups) narrows the list, null lists every group. */
export async function listGroups(pool: pg.Pool, only: GroupScope): Promise<VehicleGroup[]> {
  const r = await pool.query<VehicleGroup>(
    `SELECT g.id::float8 AS id, g.name,
            (SELECT count(*)::int FROM vehicle_group_members m WHERE m.group_id = g.id) AS vehicles
     FROM vehicle_groups g WHERE $1::bigint[] IS NULL OR g.id = ANY ($1) ORDER BY g.id`,
    [only],
  );
  return r.rows;
}

export async function getGroup(
  pool: pg.Pool,
  id: number,
): Promise<(VehicleGroup & { vehicleIds: string[] }) | undefined> {
  const r = await pool.query<VehicleGroup & { vehicleIds: string[] }>(
    `SELECT g.id::float8 AS id, g.name,
            array(SELECT m.vehicle_id FROM vehicle_group_members m WHERE m.group_id = g.id ORDER BY 1) AS "vehicleIds"
     FROM vehicle_groups g WHERE g.id = $1`,
    [id],
  );
  const row = r.rows[0];
  return row && { ...row, vehicles: row.vehicleIds.length };
}

function uniqueViolation(err: unknown, name: string): never {
  if ((err as { code?: string }).code === "23505") throw new GroupExistsError(`group ${name} exists`);
  throw err;
}

export async function createGroup(pool: pg.Pool, name: string): Promise<VehicleGroup> {
  try {
    const r = await pool.query<VehicleGroup>(
      "INSERT INTO vehicle_groups (name) VALUES ($1) RETURNING id::float8 AS id, name, 0 AS vehicles",
      [name],
    );
    return r.rows[0] as VehicleGroup;
  } catch (err) {
    return uniqueViolation(err, name);
  }
}

export async function renameGroup(pool: pg.Pool, id: number, name: string): Promise<boolean> {
  try {
    const r = await pool.query("UPDATE vehicle_groups SET name = $2 WHERE id = $1", [id, name]);
    return r.rowCount === 1;
  } catch (err) {
    return uniqueViolation(err, name);
  }
}

/** Deletes a group: its memberships and grants go with it (ON DELETE CASCADE). */
export async function deleteGroup(pool: pg.Pool, id: number): Promise<boolean> {
  const r = await pool.query("DELETE FROM vehicle_groups WHERE id = $1", [id]);
  return r.rowCount === 1;
}

/** The ids among these that are no registered vehicle. */
export async function unknownVehicles(pool: pg.Pool, ids: string[]): Promise<string[]> {
  const r = await pool.query<{ id: string }>(
    "SELECT x.id FROM unnest($1::text[]) AS x(id) WHERE NOT EXISTS (SELECT 1 FROM vehicles v WHERE v.id = x.id)",
    [ids],
  );
  return r.rows.map((row) => row.id);
}

/** Adds vehicles to a group; resolves with how many were not members yet. */
export async function addMembers(pool: pg.Pool, groupId: number, ids: string[]): Promise<number> {
  const r = await pool.query(
    `INSERT INTO vehicle_group_members (group_id, vehicle_id) SELECT $1, unnest($2::text[])
     ON CONFLICT DO NOTHING`,
    [groupId, ids],
  );
  return r.rowCount ?? 0;
}

export async function removeMember(pool: pg.Pool, groupId: number, vehicleId: string): Promise<boolean> {
  const r = await pool.query("DELETE FROM vehicle_group_members WHERE group_id = $1 AND vehicle_id = $2", [
    groupId,
    vehicleId,
  ]);
  return r.rowCount === 1;
}

/** The ids among these that are no group. */
export async function unknownGroups(pool: pg.Pool, ids: number[]): Promise<number[]> {
  const r = await pool.query<{ id: number }>(
    `SELECT x.id::float8 AS id FROM unnest($1::bigint[]) AS x(id)
     WHERE NOT EXISTS (SELECT 1 FROM vehicle_groups g WHERE g.id = x.id)`,
    [ids],
  );
  return r.rows.map((row) => row.id);
}

// One statement per grantee kind: the table, key and owner lookup are fixed text, never input.
const GRANT_SQL = {
  user: {
    read: `SELECT u.all_vehicles AS "allVehicles",
                  array(SELECT g.group_id::float8 FROM user_groups g WHERE g.user_id = u.id ORDER BY 1) AS "groupIds"
           FROM users u WHERE u.username = $1`,
    write: `WITH o AS (UPDATE users SET all_vehicles = $2 WHERE username = $1 RETURNING id),
                 d AS (DELETE FROM user_groups WHERE user_id IN (SELECT id FROM o) AND NOT (group_id = ANY ($3::bigint[])))
            INSERT INTO user_groups (user_id, group_id) SELECT o.id, unnest($3::bigint[]) FROM o
            ON CONFLICT DO NOTHING`,
  },
  token: {
    read: `SELECT t.all_vehicles AS "allVehicles",
                  array(SELECT g.group_id::float8 FROM token_groups g WHERE g.token_id = t.id ORDER BY 1) AS "groupIds"
           FROM api_tokens t WHERE t.id = $1::bigint`,
    write: `WITH o AS (UPDATE api_tokens SET all_vehicles = $2 WHERE id = $1::bigint RETURNING id),
                 d AS (DELETE FROM token_groups WHERE token_id IN (SELECT id FROM o) AND NOT (group_id = ANY ($3::bigint[])))
            INSERT INTO token_groups (token_id, group_id) SELECT o.id, unnest($3::bigint[]) FROM o
            ON CONFLICT DO NOTHING`,
  },
  integration: {
    read: `SELECT i.all_vehicles AS "allVehicles",
                  array(SELECT g.group_id::float8 FROM integration_groups g WHERE g.integration = i.name ORDER BY 1) AS "groupIds"
           FROM integrations i WHERE i.name = $1`,
    write: `WITH o AS (UPDATE integrations SET all_vehicles = $2 WHERE name = $1 RETURNING name),
                 d AS (DELETE FROM integration_groups WHERE integration IN (SELECT name FROM o) AND NOT (group_id = ANY ($3::bigint[])))
            INSERT INTO integration_groups (integration, group_id) SELECT o.name, unnest($3::bigint[]) FROM o
            ON CONFLICT DO NOTHING`,
  },
} as const;

function keyOf(who: Grantee): [keyof typeof GRANT_SQL, string | number] {
  if ("user" in who) return ["user", who.user];
  if ("token" in who) return ["token", who.token];
  return ["integration", who.integration];
}

/** The grant of a user, token or integration account; undefined when there is no such account. */
export async function getGrant(pool: pg.Pool, who: Grantee): Promise<Grant | undefined> {
  const [kind, key] = keyOf(who);
  return (await pool.query<Grant>(GRANT_SQL[kind].read, [key])).rows[0];
}

/**
 * Replaces a grant (whole fleet, or exactly these groups), in one statement, and announces it.
 * Undefined when there is no such account; unknown group ids are the caller's to refuse first.
 */
export async function setGrant(
  pool: pg.Pool,
  redis: Redis | undefined,
  who: Grantee,
  grant: Grant,
): Promise<Grant | undefined> {
  const [kind, key] = keyOf(who);
  if (!(await getGrant(pool, who))) return undefined;
  await pool.query(GRANT_SQL[kind].write, [key, grant.allVehicles, [...new Set(grant.groupIds)]]);
  if (redis) await announceAccessChanged(redis);
  return getGrant(pool, who);
}

/** Tells every API node (/ws) and broker node (integration sessions) to re-read what they may see. */
export async function announceAccessChanged(redis: Redis): Promise<void> {
  await publishAccessChanged(redis);
}

/**
 * The groups a user or token may see now (null: every vehicle), as authentication reads them
 * (api/sessions.ts); undefined when the account is gone. An open /ws socket re-reads it on change.
 */
export async function groupScopeOf(
  pool: pg.Pool,
  owner: { userId: number } | { tokenId: number },
): Promise<GroupScope | undefined> {
  const r = await pool.query<{ groups: GroupScope }>(
    "userId" in owner
      ? `SELECT CASE WHEN role = 'admin' OR all_vehicles THEN NULL
                ELSE array(SELECT g.group_id::float8 FROM user_groups g WHERE g.user_id = u.id) END AS groups
         FROM users u WHERE u.id = $1`
      : `SELECT CASE WHEN role = 'admin' OR all_vehicles THEN NULL
                ELSE array(SELECT g.group_id::float8 FROM token_groups g WHERE g.token_id = t.id) END AS groups
         FROM api_tokens t WHERE t.id = $1`,
    ["userId" in owner ? owner.userId : owner.tokenId],
  );
  return r.rows[0]?.groups;
}

/** The ids of the vehicles in these groups. */
export async function vehiclesInGroups(pool: pg.Pool, groups: number[]): Promise<Set<string>> {
  const r = await pool.query<{ v: string }>(
    "SELECT DISTINCT vehicle_id AS v FROM vehicle_group_members WHERE group_id = ANY ($1::bigint[])",
    [groups],
  );
  return new Set(r.rows.map((row) => row.v));
}

/**
 * SQL that is true when `column` holds a vehicle the groups in parameter `param` may see (a NULL
 * parameter: every vehicle). Both arguments are constants of the calling query, never input.
 */
export function visibleSql(column: string, param: string): string {
  return `(${param}::bigint[] IS NULL OR ${column} IN (SELECT m.vehicle_id FROM vehicle_group_members m WHERE m.group_id = ANY (${param}::bigint[])))`;
}

/** Whether the caller with these groups may see this vehicle. */
export async function canSee(pool: pg.Pool, groups: GroupScope, vehicleId: string): Promise<boolean> {
  if (groups === null) return true;
  const r = await pool.query(
    "SELECT 1 FROM vehicle_group_members WHERE vehicle_id = $1 AND group_id = ANY ($2::bigint[]) LIMIT 1",
    [vehicleId, groups],
  );
  return (r.rowCount ?? 0) > 0;
}
