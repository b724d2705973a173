import type pg from "pg";
import type { GroupScope } from "./api-tokens.ts";
import { hashDeviceSecret, newDeviceKey, newDeviceSecret } from "./credentials.ts";
import { isVehicleId } from "./topics.ts";

/** Vehicle registry in PostgreSQL: registration, listing, removal, device credentials. */
export interface VehicleRow {
  id: string;
  name: string | null;
  plate: string | null;
  imei: string | null;
  status: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  /** holds an MQTT session (broker/presence-sweep.ts); null: never connected over MQTT */
  online: boolean | null;
  /** start of the current online period; null while offline */
  onlineSince: string | null;
  /** the later of its last presence change and its last fix received */
  lastSeenAt: string | null;
}

export interface DeviceCredentials {
  id: string;
  username: string;
  password: string;
  /** the device key, the whole credential of a device that sends no password (Traccar Client's `id`) */
  deviceKey: string;
}

export interface NewVehicle {
  id: string;
  name?: string | undefined;
  plate?: string | undefined;
  imei?: string | undefined;
}

export class VehicleExistsError extends Error {
  override name = "VehicleExistsError";
}

const iso = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const COLUMNS = `id, name, plate, imei, status, version, ${iso("created_at")} AS "createdAt",
  ${iso("updated_at")} AS "updatedAt", online, ${iso("online_since")} AS "onlineSince",
  ${iso("greatest(last_seen_at, (SELECT s.last_received_at FROM vehicle_state s WHERE s.vehicle_id = vehicles.id))")} AS "lastSeenAt"`;

/**
 * Registers a vehicle; returns its credentials (MQTT secret and device key). They exist only in
 * this return value.
 */
export async function addVehicle(pool: pg.Pool, v: NewVehicle): Promise<DeviceCredentials> {
  if (!isVehicleId(v.id))
    throw new RangeError(`vehicle id must match [A-Za-z0-9_-]{1,64}: ${JSON.stringify(v.id)}`);
  const password = newDeviceSecret();
  const deviceKey = newDeviceKey();
  try {
    await pool.query(
      `INSERT INTO vehicles (id, name, plate, imei, credential_hash, device_key_hash)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        v.id,
        v.name ?? null,
        v.plate ?? null,
        v.imei ?? null,
        hashDeviceSecret(password),
        hashDeviceSecret(deviceKey),
      ],
    );
  } catch (err) {
    if ((err as { code?: string }).code === "23505")
      throw new VehicleExistsError(`vehicle ${v.id} (or its IMEI) exists`);
    throw err;
  }
  return { id: v.id, username: v.id, password, deviceKey };
}

/**
 * Issues a new secret and a new device key; the old ones stop working (the caller disconnects
 * the live session). Both at once: a rotation answers a leak, and either one names the vehicle.
 */
export async function rotateCredentials(pool: pg.Pool, id: string): Promise<DeviceCredentials | undefined> {
  const password = newDeviceSecret();
  const deviceKey = newDeviceKey();
  const r = await pool.query(
    "UPDATE vehicles SET credential_hash = $2, device_key_hash = $3, updated_at = now() WHERE id = $1",
    [id, hashDeviceSecret(password), hashDeviceSecret(deviceKey)],
  );
  return r.rowCount === 1 ? { id, username: id, password, deviceKey } : undefined;
}

/**
 * The active vehicle a device key names, by the key's SHA-256 (hashDeviceSecret); undefined for
 * an unknown or rotated key, or an inactive vehicle. The key has full entropy: equality on the
 * hash leaks nothing an attacker can use, so no comparison runs on the key itself, and a cache
 * keeps the hash, not the key (api/device-key-cache.ts, which also refuses a malformed key unread).
 */
export async function vehicleByDeviceKeyHash(pool: pg.Pool, keyHash: Buffer): Promise<string | undefined> {
  const r = await pool.query<{ id: string }>(
    "SELECT id FROM vehicles WHERE device_key_hash = $1 AND status <> 'inactive'",
    [keyHash],
  );
  return r.rows[0]?.id;
}

/** Registers `imei` on a vehicle that has none; answers the IMEI the vehicle has now (null: none, or taken). */
export async function setImeiIfUnset(pool: pg.Pool, id: string, imei: string): Promise<string | undefined> {
  try {
    await pool.query(
      "UPDATE vehicles SET imei = $2, version = version + 1, updated_at = now() WHERE id = $1 AND imei IS NULL",
      [id, imei],
    );
  } catch (err) {
    // another vehicle has this IMEI: the vehicle stays without one
    if ((err as { code?: string }).code !== "23505") throw err;
  }
  const r = await pool.query<{ imei: string | null }>("SELECT imei FROM vehicles WHERE id = $1", [id]);
  return r.rows[0]?.imei ?? undefined;
}

/** Vehicles by id after `after`; `groups` narrows them to those groups' members (null: all). */
export async function listVehicles(
  pool: pg.Pool,
  limit = 1000,
  after = "",
  groups: GroupScope = null,
): Promise<VehicleRow[]> {
  const r = await pool.query<VehicleRow>(
    `SELECT ${COLUMNS} FROM vehicles
     WHERE id > $1 AND ($3::bigint[] IS NULL OR id IN (SELECT m.vehicle_id FROM vehicle_group_members m WHERE m.group_id = ANY ($3::bigint[])))
     ORDER BY id LIMIT $2`,
    [after, limit, groups],
  );
  return r.rows;
}

export async function getVehicle(pool: pg.Pool, id: string): Promise<VehicleRow | undefined> {
  const r = await pool.query<VehicleRow>(`SELECT ${COLUMNS} FROM vehicles WHERE id = $1`, [id]);
  return r.rows[0];
}

export async function removeVehicle(pool: pg.Pool, id: string): Promise<boolean> {
  const r = await pool.query("DELETE FROM vehicles WHERE id = $1", [id]);
  return r.rowCount === 1;
}

export type MqttAccountKind = "device" | "integration";

export interface MqttAccount {
  kind: MqttAccountKind;
  hash: Buffer;
  /** a device's registered IMEI (its Teltonika topic is `{imei}/data`); null otherwise */
  imei: string | null;
  /**
   * an integration account limited to groups: the vehicles whose `fleet/{id}/…` messages it
   * receives (core/vehicle-groups.ts). Null: a device, or an integration granted the whole fleet
   */
  vehicles: string[] | null;
}

/**
 * The MQTT account behind a username: a vehicle (device) or an integration account. Undefined
 * when neither exists, or the vehicle is inactive. A vehicle wins if both names exist.
 */
export async function getMqttAccount(pool: pg.Pool, username: string): Promise<MqttAccount | undefined> {
  const r = await pool.query<MqttAccount>(
    `SELECT 'device' AS kind, credential_hash AS hash, imei, NULL::text[] AS vehicles
     FROM vehicles WHERE id = $1 AND status <> 'inactive'
     UNION ALL
     SELECT 'integration', credential_hash, NULL,
            CASE WHEN all_vehicles THEN NULL
                 ELSE array(SELECT DISTINCT m.vehicle_id FROM integration_groups g
                            JOIN vehicle_group_members m ON m.group_id = g.group_id WHERE g.integration = i.name) END
     FROM integrations i WHERE name = $1
     LIMIT 1`,
    [username],
  );
  return r.rows[0];
}

/** Registers an integration account (may subscribe to fleet/#, never publish ingest topics). */
export async function addIntegration(
  pool: pg.Pool,
  name: string,
): Promise<{ username: string; password: string }> {
  if (!isVehicleId(name))
    throw new RangeError(`integration name must match [A-Za-z0-9_-]{1,64}: ${JSON.stringify(name)}`);
  const password = newDeviceSecret();
  try {
    await pool.query("INSERT INTO integrations (name, credential_hash) VALUES ($1, $2)", [
      name,
      hashDeviceSecret(password),
    ]);
  } catch (err) {
    if ((err as { code?: string }).code === "23505")
      throw new VehicleExistsError(`integration ${name} exists`);
    throw err;
  }
  return { username: name, password };
}

export interface IntegrationRow {
  name: string;
  /** receives every vehicle's messages, not only its groups' (core/vehicle-groups.ts) */
  allVehicles: boolean;
  groupIds: number[];
  createdAt: string;
}

export async function listIntegrations(pool: pg.Pool): Promise<IntegrationRow[]> {
  const r = await pool.query<IntegrationRow>(
    `SELECT name, all_vehicles AS "allVehicles",
            array(SELECT g.group_id::int FROM integration_groups g WHERE g.integration = i.name ORDER BY 1) AS "groupIds",
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt"
     FROM integrations i ORDER BY name`,
  );
  return r.rows;
}

/** Deletes an integration account; the caller ends its live MQTT sessions (core/account-admin.ts). */
export async function removeIntegration(pool: pg.Pool, name: string): Promise<boolean> {
  const r = await pool.query("DELETE FROM integrations WHERE name = $1", [name]);
  return r.rowCount === 1;
}
