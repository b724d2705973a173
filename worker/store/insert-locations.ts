import type pg from "pg";
import type { Fix } from "../../core/fix.ts";

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
  const n = fixes.length;
  const cols = Array.from({ length: 13 }, () => new Array<unknown>(n));
  for (let i = 0; i < n; i++) {
    const f = fixes[i] as Fix;
    (cols[0] as unknown[])[i] = f.vehicleId;
    (cols[1] as unknown[])[i] = f.recordedAt;
    (cols[2] as unknown[])[i] = f.lat;
    (cols[3] as unknown[])[i] = f.lng;
    (cols[4] as unknown[])[i] = f.speed ?? null;
    (cols[5] as unknown[])[i] = f.heading ?? null;
    (cols[6] as unknown[])[i] = f.altitude ?? null;
    (cols[7] as unknown[])[i] = f.accuracy ?? null;
    (cols[8] as unknown[])[i] = f.ignition ?? null;
    (cols[9] as unknown[])[i] = f.odometer ?? null;
    (cols[10] as unknown[])[i] = f.messageId;
    (cols[11] as unknown[])[i] = f.receivedAt;
    (cols[12] as unknown[])[i] = f.attributes === undefined ? null : JSON.stringify(f.attributes);
  }
  const r = await client.query<{ v: string; t: number }>({
    name: "insert-locations",
    text: INSERT_LOCATIONS,
    values: cols,
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
    [fixes.map((f) => f.vehicleId), fixes.map((f) => f.recordedAt)],
  );
  for (const row of r.rows) out.set(fixKey(row.v, row.t), { receivedAt: row.rcv, messageId: row.mid });
  return out;
}
