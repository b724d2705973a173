import type pg from "pg";
import type { Logger } from "../core/logger.ts";
import type { BatchJob } from "../core/queues.ts";
import type { Redis } from "../core/redis.ts";
import type { BatchContext, BatchPart, BatchResult, Stage, WorkerRulesConfig } from "./batch-context.ts";
import { eventMessages } from "./event-messages.ts";
import { type BatchCounts, publishCommitted } from "./metrics.ts";
import { isDataError, quarantineDataErrors, sumResults } from "./quarantine.ts";
import {
  deriveVehicles,
  detectAnomalies,
  insertFixes,
  insertRejects,
  lockVehicles,
  readStoredCopies,
  saveVehicleState,
  updateDailyAnalytics,
} from "./stages.ts";
import type { PartitionCache } from "./store/partitions.ts";
import { pipelined, send } from "./store/pipeline.ts";

/**
 * What happens to a batch, in this order, in one transaction (stages.ts): each stage reads the
 * batch's context and leaves what it found there for the stages after it.
 */
const stages: readonly Stage[] = [
  lockVehicles,
  insertFixes,
  insertRejects,
  readStoredCopies,
  deriveVehicles,
  updateDailyAnalytics,
  detectAnomalies,
  saveVehicleState,
];

export interface ProcessBatchDeps {
  config: WorkerRulesConfig;
  pool: pg.Pool;
  redis: Redis;
  partitions: PartitionCache;
  log: Logger;
  now?: () => number;
  /** hands the batch's alert announcements to the notifier (alert-outbox.ts) */
  outbox?: { kick(): void };
}

const DAY_MS = 86_400_000;
// SQLSTATE 23514: "no partition of relation found for row": a partition was dropped under us
const NO_PARTITION = "23514";

/** A job's batch; an item PostgreSQL refuses with a data error is quarantined (quarantine.ts). */
export function processBatch(deps: ProcessBatchDeps, batchId: string, job: BatchJob): Promise<BatchResult> {
  return quarantineDataErrors(deps, batchId, job, (id, part) => processOnce(deps, [{ id, job: part }]));
}

/**
 * Queued jobs of one partition, in queue order, as one batch in one transaction (coalesce.ts);
 * `committed` is told the ids of all but the first once they are. A data error in it sends each
 * job through processBatch alone, in order, so its quarantine isolates the refused item under its
 * own job's id and stores the others.
 */
export async function processBatches(
  deps: ProcessBatchDeps,
  parts: readonly BatchPart[],
  committed: (ids: string[]) => Promise<void>,
): Promise<BatchResult> {
  const [lead, ...rest] = parts;
  if (!lead) throw new Error("no batch to process");
  if (rest.length === 0) return processBatch(deps, lead.id, lead.job);
  try {
    const result = await processOnce(deps, parts);
    await committed(rest.map((p) => p.id));
    return { ...result, coalesced: rest.length };
  } catch (err) {
    if (!isDataError(err)) throw err;
    deps.log.warn(
      { jobId: lead.id, jobs: parts.length, err: (err as Error).message },
      "data error in a coalesced batch: each job alone",
    );
    const results: BatchResult[] = [];
    for (const part of parts) {
      results.push(await processBatch(deps, part.id, part.job));
      if (part !== lead) await committed([part.id]);
    }
    return { ...sumResults(results), coalesced: rest.length };
  }
}

/**
 * One attempt at a batch:
 *   1. make sure a partition exists for every time in the batch (short transactions of their own)
 *   2. one transaction: the stages above, in order
 *   3. the alert outbox is kicked: its notifier gets the batch's new alert phases (alert-outbox.ts)
 *   4. one pipeline: the new geofence events and alert phases on the events channel, counters for
 *      /metrics (metrics.ts)
 * Any error propagates: BullMQ retries the whole job with backoff, and step 2 is idempotent. A
 * partition dropped between 1 and 2 is recreated and step 2 run again at once.
 */
async function processOnce(deps: ProcessBatchDeps, parts: readonly BatchPart[]): Promise<BatchResult> {
  const { pool, partitions } = deps;
  const batchId = (parts[0] as BatchPart).id;
  const job = parts.length === 1 ? (parts[0] as BatchPart).job : concatenate(parts);
  const started = Date.now();
  const times = job.fixes.map((f) => f.recordedAt);
  await partitions.ensure(pool, times);

  let ctx: BatchContext;
  try {
    ctx = await inTransaction(pool, (client) => runStages(client, deps, job, parts));
  } catch (err) {
    if ((err as { code?: string }).code !== NO_PARTITION) throw err;
    partitions.clear();
    await partitions.ensure(pool, times);
    ctx = await inTransaction(pool, (client) => runStages(client, deps, job, parts));
  }
  const counts = countsOf(ctx);
  const committed = Date.now();
  // the notifier's share is in alert_outbox, committed with the batch: handed over from there
  if (counts.queued > 0) deps.outbox?.kick();
  await publishCommitted(deps.redis, counts, { started, committed, fixes: job.fixes, jobs: parts.length });

  const { inserted, duplicates, rejected, anomalies, messages } = counts;
  const anomalyCount = anomalies.late + anomalies.duplicate + anomalies.skewed;
  // one line per batch is debug: a busy worker commits several a second (the info summary is in
  // batch-log-summary.ts)
  deps.log.debug(
    {
      jobId: batchId,
      jobs: parts.length,
      inserted,
      duplicates,
      rejected,
      anomalies: anomalyCount,
      events: messages.length,
      alerts: counts.alerts.length,
      replayed: counts.replayed,
      ms: committed - started,
    },
    "batch committed",
  );
  if (deps.log.isLevelEnabled("debug")) {
    for (const part of parts) {
      for (const f of part.job.fixes) {
        deps.log.debug({ jobId: part.id, vehicleId: f.vehicleId, messageId: f.messageId }, "fix committed");
      }
    }
  }
  return { inserted, duplicates, rejected, anomalies: anomalyCount, events: messages.length };
}

async function runStages(
  client: pg.PoolClient,
  deps: ProcessBatchDeps,
  job: BatchJob,
  parts: readonly BatchPart[],
): Promise<BatchContext> {
  const now = (deps.now ?? Date.now)();
  const ctx: BatchContext = {
    client,
    batchId: (parts[0] as BatchPart).id,
    job,
    parts,
    config: deps.config,
    now,
    retainedFrom: now - deps.config.RETENTION_DAYS * DAY_MS,
    locking: Promise.resolve(new Map()),
    fenceChanges: async () => ({ db: "", head: 0, changes: [] }),
    locked: new Map(),
    inserted: new Set(),
    storedCopies: async () => new Map(),
    rejected: 0,
    anomalies: [],
    derived: {
      machines: new Map(),
      events: { inserted: [], retracted: [] },
      alerts: [],
      queued: 0,
      replayed: new Set(),
      skipped: 0,
      days: [],
    },
    dailyRows: { written: 0, appended: 0 },
  };
  for (const stage of stages) await stage(ctx);
  return ctx;
}

/** What the batch wrote, read once its transaction has ended (writes report when answered). */
function countsOf(ctx: BatchContext): BatchCounts {
  const { job } = ctx;
  const anomalies = { late: 0, duplicate: 0, skewed: 0 };
  for (const a of ctx.anomalies) anomalies[a.kind]++;
  return {
    inserted: ctx.inserted.size,
    duplicates: job.fixes.length - ctx.inserted.size,
    rejected: ctx.rejected,
    anomalies,
    messages: eventMessages(ctx.derived.events, ctx.derived.replayed),
    alerts: ctx.derived.alerts,
    queued: ctx.derived.queued,
    replayed: ctx.derived.replayed.size,
    skipped: ctx.derived.skipped,
    dailyRows: ctx.dailyRows,
  };
}

/** The jobs' fixes and rejects, each in queue order, as one batch sealed when the oldest was. */
function concatenate(parts: readonly BatchPart[]): BatchJob {
  return {
    fixes: parts.flatMap((p) => p.job.fixes),
    rejects: parts.flatMap((p) => p.job.rejects),
    sealedAt: Math.min(...parts.map((p) => p.job.sealedAt)),
  };
}

/**
 * One transaction, pipelined (store/pipeline.ts): BEGIN goes out with the first read, COMMIT with
 * the writes still unanswered, so the fixed cost of a batch is no round trip of its own.
 */
async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await pipelined(client, async () => {
      // PostgreSQL JIT-compiles statements with high cost estimates; a batch's statements are index
      // probes of a few ms, and compiling them cost far more than running them (DESIGN.md, decision 14)
      await send(client, "BEGIN; SET LOCAL jit = off");
      const out = await fn(client);
      await send(client, "COMMIT");
      return out;
    });
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
