import type pg from "pg";
import type { Config } from "../core/config.ts";
import type { BatchJob } from "../core/queues.ts";
import type { Anomaly } from "./derive/anomalies.ts";
import type { DeriveResult } from "./derive/derive-vehicles.ts";
import type { FenceChanges } from "./derive/fence-versions.ts";
import type { LockedVehicle } from "./store/vehicle-state.ts";

export type WorkerRulesConfig = Pick<
  Config,
  | "FLEET_TZ"
  | "RETENTION_DAYS"
  | "MOVING_SPEED_KMH"
  | "STOP_MIN_SECONDS"
  | "TRIP_MIN_DISTANCE_M"
  | "TRIP_GAP_SECONDS"
  | "SKEW_ANOMALY_S"
>;

/** What a job answers BullMQ once its batch is committed. */
export interface BatchResult {
  inserted: number;
  duplicates: number;
  rejected: number;
  anomalies: number;
  events: number;
  /** queued jobs committed with this one in its transaction (worker/coalesce.ts), when any */
  coalesced?: number;
  /** this job's batch was committed earlier, in the transaction of the job with this id */
  committedWith?: string;
}

/** One queued job's share of a batch: its id keys its dead-letter rows and its fixes' log lines. */
export interface BatchPart {
  id: string;
  job: BatchJob;
}

/**
 * One attempt at a batch, inside its transaction: what the stages (stages.ts) are given, and what
 * each leaves for the stages after it. A retried attempt starts from a fresh context.
 */
export interface BatchContext {
  client: pg.PoolClient;
  /** the job id, or a sub-batch id after a quarantine split: keys the batch's dead-letter rows */
  batchId: string;
  job: BatchJob;
  /** the queued jobs the batch concatenates, in queue order: one, or more when coalesced */
  parts: readonly BatchPart[];
  config: WorkerRulesConfig;
  /** wall-clock time of this attempt (epoch ms) */
  now: number;
  /** history before this (epoch ms) may be gone (retention): nothing before it is recomputed */
  retainedFrom: number;

  /** lockVehicles: the lock, written; insertFixes awaits its answer with the insert's */
  locking: Promise<Map<string, LockedVehicle>>;
  /** lockVehicles: the geofence changes, asked for with the lock (deriveVehicles reads them) */
  fenceChanges: () => Promise<FenceChanges>;
  /** insertFixes: the batch's vehicles' state rows as found under their lock */
  locked: Map<string, LockedVehicle>;
  /** insertFixes: keys (fixKey) of the fixes this batch stored, the ones not stored before it */
  inserted: Set<string>;
  /** insertRejects: dead-letter rows written */
  rejected: number;
  /** readStoredCopies: the stored copies of the fixes that were not new (answered later) */
  storedCopies: () => Promise<Map<string, { receivedAt: number; messageId: string | null }>>;
  /** detectAnomalies: late, duplicate and skewed fixes, as recorded */
  anomalies: Anomaly[];
  /** deriveVehicles: the machines after the batch, geofence event changes, replays, day appends */
  derived: DeriveResult;
  /** updateDailyAnalytics: rollup rows written, and of them the worker's appends (answered later) */
  dailyRows: { written: number; appended: number };
}

/** One step of a batch, run in order with the others inside the batch's transaction. */
export type Stage = (ctx: BatchContext) => Promise<void>;
