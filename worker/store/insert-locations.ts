import type pg from "pg";
import type { Fix } from "../../core/fix.ts";
import { sqlArray } from "../../core/sql-array.ts";

/**
 * All fixes of a batch in one statement: column arrays unnested server-side, much faster
 * than one INSERT per row (DESIGN.md, decision 3). ON CONFLICT DO NOTHING on the primary key
 * makes a retried or resent batch idempotent; RETURNING names what was really inserted, which
 * is what the derived data (analytics, trips, geofences) is recomputed from.
 */
const INSERT_LOCATIONS = `
INSERT INTO vehicle_locations
  (vehicle_id, recorded_at, location, speed, heading, altitude, accuracy, ignition, odometer, message_id, received_at,
   attributes)
SELECT u.v, timestamptz 'epoch' + u.t * interval '1 millisecond', ST_SetSRID(ST_MakePoint(u.lng, u.lat), 4326),
       u.spd, u.hdg, u.alt, u.acc, u.ign, u.odo, u.mid, timestamptz 'epoch' + u.rcv * interval '1 millisecond', u.attr
FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::float8[], $5::real[], $6::real[], $7::real[], $8::real[],
            $9::boolean[], $10::float8[], $11::text[], $12::bigint[], $13::jsonb[])
  AS u(v, t, lat, lng, spd, hdg, alt, acc, ign, odo, mid, rcv, attr)
ON CONFLICT (vehicle_id, recorded_at) DO NOTHING
RETURNING vehicle_id AS v, (extract(epoch FROM recorded_at) * 1000)::float8 AS t`;

/** The identity of a stored fix. */
export function fixKey(vehicleId: string, recordedAt: number): string {
  return `${vehicleId}\u0000${recordedAt}`;
}

export function parseFixKey(key: string): { vehicleId: string; recordedAt: number } {
  const i = key.indexOf("\u0000");
  return { vehicleId: key.slice(0, i), recordedAt: Number(key.slice(i + 1)) };
}

/** Inserts the fixes; returns the keys (fixKey) of those that were not stored yet. */
export async function insertLocations(client: pg.PoolClient, fixes: readonly Fix[]): Promise<Set<string>> {
  if (fixes.length === 0) return new Set();
  // one array per column, in the statement's order
  const v: string[] = [];
  const t: number[] = [];
  const lat: number[] = [];
  const lng: number[] = [];
  const spd: (number | null)[] = [];
  const hdg: (number | null)[] = [];
  const alt: (number | null)[] = [];
  const acc: (number | null)[] = [];
  const ign: (boolean | null)[] = [];
  const odo: (number | null)[] = [];
  const mid: string[] = [];
  const rcv: number[] = [];
  const attr: (string | null)[] = [];
  for (const f of fixes) {
    v.push(f.vehicleId);
    t.push(f.recordedAt);
    lat.push(f.lat);
    lng.push(f.lng);
    spd.push(f.speed ?? null);
    hdg.push(f.heading ?? null);
    alt.push(f.altitude ?? null);
    acc.push(f.accuracy ?? null);
    ign.push(f.ignition ?? null);
    odo.push(f.odometer ?? null);
    mid.push(f.messageId);
    rcv.push(f.receivedAt);
    attr.push(f.attributes === undefined ? null : JSON.stringify(f.attributes));
  }
  const r = await client.query<{ v: string; t: number }>({
    name: "insert-locations",
    text: INSERT_LOCATIONS,
    // array literals written in one pass (core/sql-array.ts)
    values: [v, t, lat, lng, spd, hdg, alt, acc, ign, odo, mid, rcv, attr].map(sqlArray),
  });
  return new Set(r.rows.map((row) => fixKey(row.v, row.t)));
}

/**
 * For fixes that were not inserted: when and under which message id the stored copy arrived.
 * A stored copy with the same receipt is this very message written by an earlier attempt of the
 * job (a worker died after COMMIT, before BullMQ heard of it), not a device resending.
 */
export async function storedCopies(
  client: pg.PoolClient,
  fixes: readonly Fix[],
): Promise<Map<string, { receivedAt: number; messageId: string | null }>> {
  const out = new Map<string, { receivedAt: number; messageId: string | null }>();
  if (fixes.length === 0) return out;
  const r = await client.query<{ v: string; t: number; rcv: number; mid: string | null }>(
    `SELECT l.vehicle_id AS v, (extract(epoch FROM l.recorded_at) * 1000)::float8 AS t,
            (extract(epoch FROM l.received_at) * 1000)::float8 AS rcv, l.message_id AS mid
     FROM unnest($1::text[], $2::bigint[]) AS u(v, t)
     CROSS JOIN LATERAL (
       SELECT vehicle_id, recorded_at, received_at, message_id FROM vehicle_locations
       WHERE vehicle_id = u.v AND recorded_at = timestamptz 'epoch' + u.t * interval '1 millisecond'
       OFFSET 0 -- a primary-key probe per fix, never a join over every partition
     ) l`,
    [sqlArray(fixes.map((f) => f.vehicleId)), sqlArray(fixes.map((f) => f.recordedAt))],
  );
  for (const row of r.rows) out.set(fixKey(row.v, row.t), { receivedAt: row.rcv, messageId: row.mid });
  return out;
}
