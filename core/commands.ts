import type pg from "pg";

/**
 * Downlink commands in PostgreSQL (sql/004_commands.sql): created by the API, marked delivered
 * when the device acknowledges the QoS 1 publish, answered by the device on
 * fleet/{id}/commands/ack.
 */
export type CommandStatus = "pending" | "delivered" | "acked" | "failed";

export interface CommandRow {
  id: string;
  vehicleId: string;
  payload: unknown;
  status: CommandStatus;
  createdAt: string;
  deliveredAt: string | null;
  ackedAt: string | null;
  response: unknown;
}

/** What the device receives on fleet/{id}/commands. */
export interface CommandMessage {
  commandId: string;
  payload: unknown;
}

const iso = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const COLUMNS = `id, vehicle_id AS "vehicleId", payload, status, ${iso("created_at")} AS "createdAt",
  ${iso("delivered_at")} AS "deliveredAt", ${iso("acked_at")} AS "ackedAt", response`;

/** A command payload Codec 12 can carry: a string of printable ASCII, at most 512 characters. */
export function codec12Text(payload: unknown): string | undefined {
  return typeof payload === "string" && /^[\x20-\x7e]{1,512}$/.test(payload) ? payload : undefined;
}

/** Why a text command cannot go to a Teltonika device as Codec 12, or undefined when it can. */
export function codec12Problem(text: string): string | undefined {
  if (codec12Text(text) !== undefined) return undefined;
  if (text.length === 0) return "is empty";
  if (text.length > 512) return `is ${text.length} characters, more than 512`;
  return "holds a character that is not printable ASCII (0x20-0x7e; no newline, no accents)";
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Stores a pending command; undefined when the vehicle does not exist. */
export async function createCommand(
  pool: pg.Pool,
  vehicleId: string,
  payload: unknown,
): Promise<CommandRow | undefined> {
  const r = await pool.query<CommandRow>(
    `INSERT INTO commands (vehicle_id, payload)
     SELECT id, $2::jsonb FROM vehicles WHERE id = $1
     RETURNING ${COLUMNS}`,
    [vehicleId, JSON.stringify(payload)],
  );
  return r.rows[0];
}

/** A vehicle's commands, newest first; `after` is the id of the last command of the previous page. */
export async function listCommands(
  pool: pg.Pool,
  vehicleId: string,
  limit: number,
  after?: string,
): Promise<CommandRow[]> {
  const r = await pool.query<CommandRow>(
    `SELECT ${COLUMNS} FROM commands
     WHERE vehicle_id = $1
       AND ($3::uuid IS NULL OR (created_at, id) < (SELECT created_at, id FROM commands WHERE id = $3::uuid))
     ORDER BY created_at DESC, id DESC
     LIMIT $2`,
    [vehicleId, limit, after ?? null],
  );
  return r.rows;
}

export async function getCommand(
  pool: pg.Pool,
  vehicleId: string,
  id: string,
): Promise<CommandRow | undefined> {
  if (!UUID_RE.test(id)) return undefined;
  const r = await pool.query<CommandRow>(
    `SELECT ${COLUMNS} FROM commands WHERE id = $1 AND vehicle_id = $2`,
    [id, vehicleId],
  );
  return r.rows[0];
}

/** A vehicle's commands still pending and younger than `maxAgeMs`, oldest first. */
export async function pendingCommands(
  pool: pg.Pool,
  vehicleId: string,
  maxAgeMs: number,
): Promise<Pick<CommandRow, "id" | "payload">[]> {
  const r = await pool.query<Pick<CommandRow, "id" | "payload">>(
    `SELECT id, payload FROM commands
     WHERE vehicle_id = $1 AND status = 'pending' AND created_at > now() - $2 * interval '1 millisecond'
     ORDER BY created_at, id LIMIT 100`,
    [vehicleId, maxAgeMs],
  );
  return r.rows;
}

/** The device acknowledged the QoS 1 publish (PUBACK). Only a pending command moves. */
export async function markDelivered(pool: pg.Pool, vehicleId: string, id: string): Promise<boolean> {
  if (!UUID_RE.test(id)) return false;
  const r = await pool.query(
    `UPDATE commands SET status = 'delivered', delivered_at = now()
     WHERE id = $1 AND vehicle_id = $2 AND status = 'pending'`,
    [id, vehicleId],
  );
  return r.rowCount === 1;
}

/**
 * The device's answer: "ok" → acked, "error" → failed, with its response. A command already
 * answered keeps its first answer (a QoS 1 resend is a duplicate, not a change of mind).
 */
export async function recordAnswer(
  pool: pg.Pool,
  vehicleId: string,
  id: string,
  ok: boolean,
  response: unknown,
): Promise<"recorded" | "duplicate" | "unknown"> {
  if (!UUID_RE.test(id)) return "unknown";
  const r = await pool.query(
    `UPDATE commands
     SET status = $3, acked_at = now(), delivered_at = coalesce(delivered_at, now()), response = $4::jsonb
     WHERE id = $1 AND vehicle_id = $2 AND status IN ('pending', 'delivered')`,
    [id, vehicleId, ok ? "acked" : "failed", response === undefined ? null : JSON.stringify(response)],
  );
  if (r.rowCount === 1) return "recorded";
  const seen = await pool.query("SELECT 1 FROM commands WHERE id = $1 AND vehicle_id = $2", [id, vehicleId]);
  return seen.rowCount === 1 ? "duplicate" : "unknown";
}
