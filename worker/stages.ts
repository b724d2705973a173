import type { BatchContext } from "./batch-context.ts";
import * as anomalies from "./derive/anomalies.ts";
import * as analytics from "./derive/daily-analytics.ts";
import * as derive from "./derive/derive-vehicles.ts";
import * as locations from "./store/insert-locations.ts";
import * as rejects from "./store/insert-rejects.ts";
import * as vehicleState from "./store/vehicle-state.ts";

/**
 * The stages of a batch, each over the batch's context (batch-context.ts), in the order
 * process-batch.ts runs them in one transaction. Storage is in store/, derived data in derive/.
 */

/**
 * Locks the state rows of the batch's vehicles (FOR UPDATE, id order) until COMMIT: everything
 * derived below for a vehicle starts from what the previous batch left.
 */
export async function lockVehicles(ctx: BatchContext): Promise<void> {
  ctx.locked = await vehicleState.lockVehicles(
    ctx.client,
    ctx.job.fixes.map((f) => f.vehicleId),
  );
}

/** The fixes, idempotently; learns which were new, the only ones anything is derived from. */
export async function insertFixes(ctx: BatchContext): Promise<void> {
  ctx.inserted = await locations.insertLocations(ctx.client, ctx.job.fixes);
}

/**
 * The batch's rejects into the dead letter, each job's under its own id: a coalesced batch
 * retried with other jobs around it (worker/coalesce.ts) keys them the same way.
 */
export async function insertRejects(ctx: BatchContext): Promise<void> {
  let stored = 0;
  for (const part of ctx.parts) {
    if (part.job.rejects.length > 0)
      stored += await rejects.insertRejects(ctx.client, part.id, part.job.rejects);
  }
  ctx.rejected = stored;
}

/** Late, duplicate and skewed fixes, judged against the locked state and the stored copies. */
export async function detectAnomalies(ctx: BatchContext): Promise<void> {
  const { client, job, inserted, locked, config } = ctx;
  const notInserted = job.fixes.filter((f) => !inserted.has(locations.fixKey(f.vehicleId, f.recordedAt)));
  ctx.anomalies = anomalies.detectAnomalies(
    job.fixes,
    inserted,
    new Map([...locked].map(([id, v]) => [id, v.lastFixAt])),
    await locations.storedCopies(client, notInserted),
    config.SKEW_ANOMALY_S * 1000,
  );
  await anomalies.insertAnomalies(client, ctx.anomalies);
}

/** The daily analytics of the vehicle-days the new fixes fall in. */
export async function updateDailyAnalytics(ctx: BatchContext): Promise<void> {
  await analytics.updateDailyAnalytics(ctx.client, ctx.inserted, {
    fleetTz: ctx.config.FLEET_TZ,
    movingSpeedKmh: ctx.config.MOVING_SPEED_KMH,
    gapSeconds: ctx.config.TRIP_GAP_SECONDS,
    retainedFrom: ctx.retainedFrom,
  });
}

/** Trips, stops and geofence events in event time, replayed from a checkpoint after late fixes. */
export async function deriveVehicles(ctx: BatchContext): Promise<void> {
  ctx.derived = await derive.deriveVehicles(
    ctx.client,
    ctx.locked,
    ctx.inserted,
    derive.deriveRules(ctx.config, ctx.retainedFrom),
  );
}

/** The vehicles' state rows, still locked: newest fix and receipt, moving or not, the machine. */
export async function saveVehicleState(ctx: BatchContext): Promise<void> {
  const { job, locked, inserted, derived } = ctx;
  const newest = new Map<string, { fix: number | null; received: number }>();
  for (const f of job.fixes) {
    const cur = newest.get(f.vehicleId) ?? { fix: locked.get(f.vehicleId)?.lastFixAt ?? null, received: 0 };
    const stored = inserted.has(locations.fixKey(f.vehicleId, f.recordedAt));
    newest.set(f.vehicleId, {
      fix: stored && (cur.fix === null || f.recordedAt > cur.fix) ? f.recordedAt : cur.fix,
      received: Math.max(cur.received, f.receivedAt),
    });
  }
  await vehicleState.saveVehicles(
    ctx.client,
    [...newest].map(([vehicleId, n]) => {
      const machine = derived.machines.get(vehicleId) ?? null;
      return {
        vehicleId,
        lastFixAt: n.fix,
        lastReceivedAt: n.received,
        moving: machine?.trip != null,
        machine,
      };
    }),
  );
}
