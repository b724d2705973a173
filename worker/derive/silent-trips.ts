import type pg from "pg";
import { writeRuns } from "./derived-writes.ts";
import { closeOnSilence, type MachineRules, type MachineState } from "./vehicle-machine.ts";

export interface SilentTripsResult {
  /** vehicles whose trip in progress was written as ended */
  vehicles: number;
  trips: number;
  stops: number;
}

// vehicles per sweep transaction: the rest wait for the next sweep
const SWEEP_LIMIT = 1000;

/**
 * The trips of vehicles that fell silent. The machine ends a trip at a silence only when the
 * first fix after it arrives (vehicle-machine.ts): a vehicle that stays silent would keep its last
 * trip (and the stop before it) out of the reports for good. This sweep, run periodically by the
 * worker, writes for every vehicle still in a trip whose last fix is more than TRIP_GAP_SECONDS
 * before `now` what that first fix would write (closeOnSilence): the trip ending at its last fix,
 * closed at lastAt + TRIP_GAP_SECONDS. It changes neither the machine nor the fix times, only
 * the `moving` flag (so the vehicle is not swept again), under the vehicle's state lock
 * (SKIP LOCKED: a vehicle in a batch right now is left to the next sweep).
 *
 * Event-time safe: fixes that later fill the silence (a store-and-forward upload) continue the
 * saved machine as if the sweep never ran; while the trip goes on, the batch removes the row the
 * sweep wrote (derived-writes.ts, `openTripStart`), and the trip is written again, with its real
 * end, when it closes (same start: an upsert). A replay from before it replaces it like any row
 * closed after its checkpoint.
 */
export async function closeSilentTrips(
  pool: pg.Pool,
  rules: Pick<MachineRules, "tripMinDistanceM" | "gapMs">,
  now: number,
): Promise<SilentTripsResult> {
  const result: SilentTripsResult = { vehicles: 0, trips: 0, stops: 0 };
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const r = await client.query<{ id: string; machine: MachineState }>(
      `SELECT vehicle_id AS id, machine FROM vehicle_state
       WHERE moving AND last_fix_at < $1 AND machine IS NOT NULL
       ORDER BY vehicle_id LIMIT ${SWEEP_LIMIT} FOR UPDATE SKIP LOCKED`,
      [new Date(now - rules.gapMs)],
    );
    const runs = [];
    const swept: string[] = [];
    for (const { id, machine } of r.rows) {
      // last_fix_at may run ahead of the machine (a late fix it could not replay): the machine decides
      if (machine.lastAt === null || now - machine.lastAt <= rules.gapMs) continue;
      const out = closeOnSilence(machine, rules);
      swept.push(id);
      runs.push({ vehicleId: id, since: machine.lastAt, replaces: false, ...out });
      result.trips += out.trips.length;
      result.stops += out.stops.length;
    }
    await writeRuns(client, runs);
    await client.query(
      "UPDATE vehicle_state SET moving = false, updated_at = now() WHERE vehicle_id = ANY($1)",
      [swept],
    );
    await client.query("COMMIT");
    result.vehicles = swept.length;
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
