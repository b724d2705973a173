import type pg from "pg";
import type { Fix } from "../../core/fix.ts";
import { sqlArray } from "../../core/sql-array.ts";
import { fixKey } from "../store/insert-locations.ts";

export type AnomalyKind = "late" | "duplicate" | "skewed";
export const ANOMALY_KINDS: readonly AnomalyKind[] = ["late", "duplicate", "skewed"];

export interface Anomaly {
  vehicleId: string;
  recordedAt: number;
  kind: AnomalyKind;
  receivedAt: number;
  detail: string;
}

// A fix dated ahead of its own receipt by more than this comes from a fast device clock; below
// it is the server's NTP error plus transit (GPS time itself is exact).
const FUTURE_TOLERANCE_MS = 2000;

const iso = (t: number) => new Date(t).toISOString();
const seconds = (ms: number) => Math.round(ms / 1000);

/**
 * The detail of a `duplicate` whose content differs from the record kept: one fix per vehicle and
 * time is the platform's rule (the fixes' primary key), so it is dropped all the same, but it was
 * not a resend (docs/devices.md). Teltonika devices send such pairs: a periodic record and an
 * event record (ignition off) in the same second.
 */
export const CONFLICTING =
  "conflicting: another record with the same time and different content came first and was kept";

/** Whether two fixes of one vehicle and time carry the same position and values. */
function sameContent(a: Fix, b: Fix): boolean {
  return (
    a.lat === b.lat &&
    a.lng === b.lng &&
    a.speed === b.speed &&
    a.heading === b.heading &&
    a.altitude === b.altitude &&
    a.accuracy === b.accuracy &&
    a.ignition === b.ignition &&
    a.odometer === b.odometer &&
    canonical(a.attributes) === canonical(b.attributes)
  );
}

const canonical = (attrs: Fix["attributes"]) =>
  attrs === undefined ? "" : JSON.stringify(Object.entries(attrs).sort(([x], [y]) => (x < y ? -1 : 1)));

/**
 * Late, duplicate and clock-skewed fixes of a batch, in arrival (batch) order:
 * - late: older than the vehicle's newest fix when it arrived: the newest stored before this
 *   batch (read under the vehicle's row lock) or an earlier fix of this batch (earlier messages,
 *   or earlier in the same message), never a fix that arrives after it. A store-and-forward
 *   upload in time order after older data has none; one that follows the live fix sent when
 *   coverage returned (simulator/reporter.ts, as real modems do) is late fix by fix, against that
 *   live fix. The bridge's bridge_live_stale counts something else: flushes whose newest fix did
 *   not move the live marker, once per vehicle;
 * - duplicate: already stored (or twice in this batch; CONFLICTING when the later one differs,
 *   of which the first in the batch is kept). A stored copy with the same receipt and
 *   message id is this job's own earlier attempt (BullMQ retried it after a commit), not a resend;
 * - skewed: received more than `skewMs` after recordedAt, or dated in the future (the bridge
 *   refuses more than MAX_CLOCK_SKEW ahead, so these are within it).
 */
export function detectAnomalies(
  fixes: readonly Fix[],
  inserted: ReadonlySet<string>,
  newestBefore: ReadonlyMap<string, number | null>,
  storedCopies: ReadonlyMap<string, { receivedAt: number; messageId: string | null }>,
  skewMs: number,
): Anomaly[] {
  const out: Anomaly[] = [];
  const newest = new Map(newestBefore);
  const seen = new Map<string, Fix>();
  for (const f of fixes) {
    const key = fixKey(f.vehicleId, f.recordedAt);
    const base = { vehicleId: f.vehicleId, recordedAt: f.recordedAt, receivedAt: f.receivedAt };
    const earlier = seen.get(key);
    const first = earlier === undefined;
    if (first) seen.set(key, f);
    if (!first || !inserted.has(key)) {
      const copy = storedCopies.get(key);
      const ownRetry = first && copy?.receivedAt === f.receivedAt && copy.messageId === f.messageId;
      if (!ownRetry) {
        const detail = first
          ? `already stored (received ${copy ? iso(copy.receivedAt) : "earlier"})`
          : sameContent(earlier, f)
            ? "sent twice in the same batch"
            : CONFLICTING;
        out.push({ ...base, kind: "duplicate", detail });
      }
      continue;
    }
    const prev = newest.get(f.vehicleId) ?? null;
    if (prev !== null && f.recordedAt < prev) {
      out.push({
        ...base,
        kind: "late",
        detail: `${seconds(prev - f.recordedAt)} s older than the newest fix received before it (${iso(prev)})`,
      });
    }
    if (prev === null || f.recordedAt > prev) newest.set(f.vehicleId, f.recordedAt);
    const delay = f.receivedAt - f.recordedAt;
    if (delay > skewMs) {
      out.push({ ...base, kind: "skewed", detail: `received ${seconds(delay)} s after recordedAt` });
    } else if (-delay > FUTURE_TOLERANCE_MS) {
      out.push({ ...base, kind: "skewed", detail: `recordedAt ${seconds(-delay)} s ahead of its receipt` });
    }
  }
  return out;
}

export async function insertAnomalies(client: pg.PoolClient, anomalies: readonly Anomaly[]): Promise<void> {
  if (anomalies.length === 0) return;
  await client.query({
    name: "insert-anomalies",
    text: `INSERT INTO location_anomalies (vehicle_id, recorded_at, kind, received_at, detail)
           SELECT u.v, timestamptz 'epoch' + u.t * interval '1 millisecond', u.k,
                  timestamptz 'epoch' + u.r * interval '1 millisecond', u.d
           FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[]) AS u(v, t, k, r, d)`,
    values: [
      sqlArray(anomalies.map((a) => a.vehicleId)),
      sqlArray(anomalies.map((a) => a.recordedAt)),
      sqlArray(anomalies.map((a) => a.kind)),
      sqlArray(anomalies.map((a) => a.receivedAt)),
      sqlArray(anomalies.map((a) => a.detail)),
    ],
  });
}
