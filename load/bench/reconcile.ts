import type pg from "pg";
import type { Ledger } from "./load.ts";
import type { Reconciliation } from "./results.ts";

/**
 * Every message of a step checked against the database once the system has drained: sent,
 * acknowledged, stored. An acknowledged message that is not stored is lost, the one outcome the
 * platform promises never happens; a message stored without its acknowledgement (the ack was
 * still in flight, or the device gave up waiting) or neither stored nor acknowledged (refused,
 * the device resends) is what overload is allowed to cause. Counted per message, not from
 * totals, so a duplicate cannot hide a loss.
 */
export async function reconcile(pool: pg.Pool, ledger: Ledger): Promise<Reconciliation> {
  const out: Reconciliation = { sent: 0, acked: 0, stored: 0, ackedNotStored: 0, storedNotAcked: 0 };
  const chunk = 50_000;
  for (let i = 0; i < ledger.vehicleIds.length; i += chunk) {
    const { rows } = await pool.query<Reconciliation>(
      `SELECT count(*)::int AS sent,
              count(*) FILTER (WHERE m.acked)::int AS acked,
              count(l.vehicle_id)::int AS stored,
              count(*) FILTER (WHERE m.acked AND l.vehicle_id IS NULL)::int AS "ackedNotStored",
              count(l.vehicle_id) FILTER (WHERE NOT m.acked)::int AS "storedNotAcked"
       FROM unnest($1::text[], $2::float8[], $3::bool[]) AS m(vehicle_id, t, acked)
       LEFT JOIN vehicle_locations l
         ON l.vehicle_id = m.vehicle_id AND l.recorded_at = to_timestamp(m.t / 1000.0)`,
      [
        ledger.vehicleIds.slice(i, i + chunk),
        ledger.recordedAt.slice(i, i + chunk),
        ledger.acked.slice(i, i + chunk),
      ],
    );
    const r = rows[0] as Reconciliation;
    for (const k of Object.keys(out) as (keyof Reconciliation)[]) out[k] += r[k];
  }
  return out;
}
