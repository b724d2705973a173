import type { BatchContext } from "./batch-context.ts";
import * as anomalies from "./derive/anomalies.ts";
import * as analytics from "./derive/daily-analytics.ts";
import * as derive from "./derive/derive-vehicles.ts";
import { readFenceChanges } from "./derive/fence-versions.ts";
import * as locations from "./store/insert-locations.ts";
import * as rejects from "./store/insert-rejects.ts";
import { ahead, later } from "./store/pipeline.ts";
import * as vehicleState from "./store/vehicle-state.ts";

/**
 * The stages of a batch, each over the batch's context (batch-context.ts), in the order
 * process-batch.ts runs them in one pipelined transaction (store/pipeline.ts). Storage is in
 * store/, derived data in derive/. A stage awaits only the answers the stages after it read: a
 * write is sent and left to be answered with the next read or the COMMIT, and a read the next
 * stages do not need is started here and awaited where it is used, so it shares a round trip.
 */

/**
 * Locks the state rows of the batch's vehicles (FOR UPDATE, id order) until COMMIT: everything
 * derived below for a vehicle starts from what the previous batch left.
 */
export async function lockVehicles(ctx: BatchContext): Promise<void> {
  // written now, answered with the fixes' insert (the next stage): the lock still comes first
  const ids = ctx.job.fixes.map((f) => f.vehicleId);
  ctx.locking = vehicleState.lockVehicles(ctx.client, ids);
  // read under the lock, with it: the changes the saved machines were not derived with
  ctx.fenceChanges = ahead(ctx.client, () => readFenceChanges(ctx.client, null, ids));
}

/** The fixes, idempotently; learns which were new, the only ones anything is derived from. */
export async function insertFixes(ctx: BatchContext): Promise<void> {
  [ctx.inserted, ctx.locked] = await Promise.all([
    locations.insertLocations(ctx.client, ctx.job.fixes),
    ctx.locking,
  ]);
}

/**
 * The batch's rejects into the dead letter, each job's under its own id: a coalesced batch
 * retried with other jobs around it (worker/coalesce.ts) keys them the same way.
 */
export async function insertRejects(ctx: BatchContext): Promise<void> {
  ctx.rejected = 0;
  for (const part of ctx.parts) {
    if (part.job.rejects.length === 0) continue;
    await later(ctx.client, rejects.insertRejects(ctx.client, part.id, part.job.rejects), (n) => {
      ctx.rejected += n;
    });
  }
}

/** Starts reading the stored copies of the fixes that were not new, for detectAnomalies. */
export async function readStoredCopies(ctx: BatchContext): Promise<void> {
  const { client, job, inserted } = ctx;
  const notInserted = job.fixes.filter((f) => !inserted.has(locations.fixKey(f.vehicleId, f.recordedAt)));
  // awaited by detectAnomalies, after the derivations' reads have brought its answer
  ctx.storedCopies = ahead(client, () => locations.storedCopies(client, notInserted));
}

/** Late, duplicate and skewed fixes, judged against the locked state and the stored copies. */
export async function detectAnomalies(ctx: BatchContext): Promise<void> {
  const { client, job, inserted, locked, config } = ctx;
  ctx.anomalies = anomalies.detectAnomalies(
    job.fixes,
    inserted,
    new Map([...locked].map(([id, v]) => [id, v.lastFixAt])),
    await ctx.storedCopies(),
    config.SKEW_ANOMALY_S * 1000,
  );
  await later(client, anomalies.insertAnomalies(client, ctx.anomalies));
}

/**
 * The daily analytics of the vehicle-days the new fixes fall in: added up by deriveVehicles from
 * the tracks it read for the vehicles that continued their state, computed in SQL for the rest.
 */
export async function updateDailyAnalytics(ctx: BatchContext): Promise<void> {
  await later(
    ctx.client,
    analytics.updateDailyAnalytics(
      ctx.client,
      ctx.inserted,
      {
        fleetTz: ctx.config.FLEET_TZ,
        movingSpeedKmh: ctx.config.MOVING_SPEED_KMH,
        gapSeconds: ctx.config.TRIP_GAP_SECONDS,
        retainedFrom: ctx.retainedFrom,
      },
      ctx.derived.days,
    ),
    (r) => {
      ctx.dailyRows = r;
    },
  );
}

/** Trips, stops and geofence events in event time, replayed from a checkpoint after late fixes. */
export async function deriveVehicles(ctx: BatchContext): Promise<void> {
  ctx.derived = await derive.deriveVehicles(
    ctx.client,
    ctx.locked,
    ctx.inserted,
    derive.deriveRules(ctx.config, ctx.retainedFrom),
    ctx.fenceChanges,
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
  await later(
    ctx.client,
    vehicleState.saveVehicles(
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
    ),
  );
}
