import type pg from "pg";

/** A native fix as the publisher sent it (simulator/payloads.ts nativeFix, or an array element). */
export interface SentFix {
  lat: number;
  lng: number;
  recordedAt: number;
  speed?: number;
  heading?: number;
  altitude?: number;
  accuracy?: number;
  ignition?: boolean;
  odometer?: number;
  messageId?: string;
}

export interface AckedFix {
  vehicleId: string;
  sent: SentFix;
  /** the phase during which its PUBACK arrived */
  phase: string;
  ackAt: number;
}

/**
 * Every fix whose PUBACK arrived, with the payload it was sent with: the set the platform promised
 * to store. Also a timeline of acknowledgements (time, fixes, publish→PUBACK latency) per phase.
 */
export class AckLog {
  readonly fixes = new Map<string, AckedFix>();
  readonly acks: { at: number; fixes: number; latencyMs: number; phase: string; source: string }[] = [];
  phase = "start";

  record(vehicleId: string, sent: SentFix[], sentAt: number, source: string): void {
    const at = performance.now();
    for (const s of sent) {
      const key = `${vehicleId}\u0000${s.recordedAt}`;
      if (!this.fixes.has(key)) this.fixes.set(key, { vehicleId, sent: s, phase: this.phase, ackAt: at });
    }
    this.acks.push({ at, fixes: sent.length, latencyMs: at - sentAt, phase: this.phase, source });
  }

  /** acknowledged so far (optionally: of one phase) */
  list(phase?: string): AckedFix[] {
    const all = [...this.fixes.values()];
    return phase === undefined ? all : all.filter((f) => f.phase === phase);
  }
}

export interface Verification {
  checked: number;
  lost: number;
  corrupted: number;
  /** keys stored more than once */
  duplicates: number;
  examples: string[];
}

interface Row {
  i: number;
  lat: number;
  lng: number;
  t: number;
  speed: number | null;
  heading: number | null;
  altitude: number | null;
  accuracy: number | null;
  ignition: boolean | null;
  odometer: number | null;
  message_id: string | null;
}

const SELECT_STORED = `
SELECT u.i::int AS i, ST_Y(l.location) AS lat, ST_X(l.location) AS lng,
       (extract(epoch FROM l.recorded_at) * 1000)::float8 AS t,
       l.speed::float8 AS speed, l.heading::float8 AS heading, l.altitude::float8 AS altitude,
       l.accuracy::float8 AS accuracy, l.ignition, l.odometer, l.message_id
FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS u(v, t, i)
JOIN vehicle_locations l
  ON l.vehicle_id = u.v AND l.recorded_at = timestamptz 'epoch' + u.t * interval '1 millisecond'`;

const COUNT_STORED = `
SELECT count(*)::int AS n
FROM unnest($1::text[], $2::bigint[]) AS u(v, t)
WHERE EXISTS (SELECT 1 FROM vehicle_locations l
              WHERE l.vehicle_id = u.v AND l.recorded_at = timestamptz 'epoch' + u.t * interval '1 millisecond')`;

const CHUNK = 5000;

/** How many of these fixes are stored (any content). */
export async function countStored(pool: pg.Pool, fixes: AckedFix[]): Promise<number> {
  let n = 0;
  for (let i = 0; i < fixes.length; i += CHUNK) {
    const part = fixes.slice(i, i + CHUNK);
    const r = await pool.query<{ n: number }>(COUNT_STORED, [
      part.map((f) => f.vehicleId),
      part.map((f) => f.sent.recordedAt),
    ]);
    n += r.rows[0]?.n ?? 0;
  }
  return n;
}

/**
 * Each acknowledged fix must be stored exactly once and equal, field by field, to what was sent:
 * coordinates and times exactly (float8, milliseconds), the `real` columns as the float32 of the
 * sent value, absent fields as NULL.
 */
export async function verifyStored(pool: pg.Pool, fixes: AckedFix[]): Promise<Verification> {
  const out: Verification = { checked: fixes.length, lost: 0, corrupted: 0, duplicates: 0, examples: [] };
  for (let start = 0; start < fixes.length; start += CHUNK) {
    const part = fixes.slice(start, start + CHUNK);
    const r = await pool.query<Row>(SELECT_STORED, [
      part.map((f) => f.vehicleId),
      part.map((f) => f.sent.recordedAt),
    ]);
    const byIndex = new Map<number, Row[]>();
    for (const row of r.rows) byIndex.set(row.i, [...(byIndex.get(row.i) ?? []), row]);
    part.forEach((f, k) => {
      const rows = byIndex.get(k + 1) ?? [];
      if (rows.length === 0) {
        out.lost++;
        if (out.examples.length < 5) out.examples.push(`lost ${f.vehicleId} ${f.sent.recordedAt}`);
        return;
      }
      if (rows.length > 1) out.duplicates++;
      const diff = differences(f.sent, rows[0] as Row);
      if (diff.length > 0) {
        out.corrupted++;
        if (out.examples.length < 5)
          out.examples.push(`${f.vehicleId} ${f.sent.recordedAt}: ${diff.join(", ")}`);
      }
    });
  }
  return out;
}

const f32 = (v: number | undefined) => (v === undefined ? null : Math.fround(v));

function differences(s: SentFix, row: Row): string[] {
  const checks: [string, unknown, unknown][] = [
    ["lat", s.lat, row.lat],
    ["lng", s.lng, row.lng],
    ["recordedAt", s.recordedAt, row.t],
    ["speed", f32(s.speed), row.speed],
    ["heading", f32(s.heading), row.heading],
    ["altitude", f32(s.altitude), row.altitude],
    ["accuracy", f32(s.accuracy), row.accuracy],
    ["ignition", s.ignition ?? null, row.ignition],
    ["odometer", s.odometer ?? null, row.odometer],
  ];
  if (s.messageId !== undefined) checks.push(["messageId", s.messageId, row.message_id]);
  return checks.filter(([, a, b]) => a !== b).map(([name, a, b]) => `${name} sent ${a} stored ${b}`);
}
