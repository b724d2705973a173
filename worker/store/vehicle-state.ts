import type pg from "pg";
import { sqlArray } from "../../core/sql-array.ts";
import type { MachineState } from "../derive/vehicle-machine.ts";
import { inOrder } from "./pipeline.ts";

/** A vehicle's row in vehicle_state, as the batch found it under its lock. */
export interface LockedVehicle {
  /** newest stored fix before this batch (epoch ms) */
  lastFixAt: number | null;
  machine: MachineState | null;
}

/**
 * Locks the state rows of the batch's vehicles for the rest of the transaction (creating the
 * missing ones first). Rows are taken in id order, so two workers whose batches share vehicles
 * queue behind each other instead of deadlocking; everything the batch derives for a vehicle
 * (anomalies, analytics, trips, geofences) is therefore computed by one worker at a time, from
 * the state the previous batch left.
 */
export async function lockVehicles(
  client: pg.PoolClient,
  vehicleIds: readonly string[],
): Promise<Map<string, LockedVehicle>> {
  const ids = [...new Set(vehicleIds)].sort();
  const out = new Map<string, LockedVehicle>();
  if (ids.length === 0) return out;
  // both written at once in a pipelined batch (store/pipeline.ts): one round trip
  const [, r] = (await inOrder(client, [
    {
      name: "vehicle-state-create",
      text: "INSERT INTO vehicle_state (vehicle_id) SELECT unnest($1::text[]) ON CONFLICT (vehicle_id) DO NOTHING",
      values: [sqlArray(ids)],
    },
    {
      name: "vehicle-state-lock",
      text: `SELECT vehicle_id AS id, (extract(epoch FROM last_fix_at) * 1000)::float8 AS last, machine
             FROM vehicle_state WHERE vehicle_id = ANY($1::text[]) ORDER BY vehicle_id FOR UPDATE`,
      values: [sqlArray(ids)],
    },
  ])) as [unknown, pg.QueryResult<{ id: string; last: number | null; machine: MachineState | null }>];
  for (const row of r.rows) out.set(row.id, { lastFixAt: row.last, machine: row.machine });
  return out;
}

export interface VehicleStateUpdate {
  vehicleId: string;
  /** newest stored fix after this batch */
  lastFixAt: number | null;
  lastReceivedAt: number;
  moving: boolean;
  /** null: unchanged */
  machine: MachineState | null;
}

/**
 * Writes the batch's vehicles' state rows (still locked) in one statement. The rows go as one JSON
 * text (jsonb_to_recordset), not as five arrays of which one is jsonb[]: pg quotes and escapes each
 * machine's JSON again inside the array literal (the worker's CPU per statement measured in
 * BENCHMARKS.md, "Issue 18's engineering").
 */
export async function saveVehicles(
  client: pg.PoolClient,
  updates: readonly VehicleStateUpdate[],
): Promise<void> {
  if (updates.length === 0) return;
  await client.query({
    name: "vehicle-state-save",
    text: `UPDATE vehicle_state s SET
             last_fix_at = greatest(s.last_fix_at, timestamptz 'epoch' + u.t * interval '1 millisecond'),
             last_received_at = greatest(s.last_received_at, timestamptz 'epoch' + u.r * interval '1 millisecond'),
             moving = CASE WHEN u.m IS NULL THEN s.moving ELSE u.mv END,
             machine = COALESCE(u.m, s.machine),
             updated_at = now()
           FROM jsonb_to_recordset($1::jsonb) AS u(v text, t bigint, r bigint, mv boolean, m jsonb)
           WHERE s.vehicle_id = u.v`,
    values: [
      JSON.stringify(
        updates.map((u) => ({
          v: u.vehicleId,
          t: u.lastFixAt,
          r: u.lastReceivedAt,
          mv: u.moving,
          m: u.machine,
        })),
      ),
    ],
  });
}

/** Replaces a (locked) vehicle's machine and moving flag, its fix times untouched (a recompute). */
export async function saveMachine(
  client: pg.PoolClient,
  vehicleId: string,
  machine: MachineState,
): Promise<void> {
  await client.query(
    "UPDATE vehicle_state SET machine = $2, moving = $3, updated_at = now() WHERE vehicle_id = $1",
    [vehicleId, JSON.stringify(machine), machine.trip != null],
  );
}
