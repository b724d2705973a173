import type pg from "pg";
import type { Config } from "../core/config.ts";
import type { Logger } from "../core/logger.ts";
import type { BatchJob } from "../core/queues.ts";
import { channelOf, type Redis, redisKeys } from "../core/redis.ts";
import { cutPayload, type Reject } from "../core/reject-reasons.ts";
import { ANOMALY_KINDS, detectAnomalies, insertAnomalies } from "./derive/anomalies.ts";
import { updateDailyAnalytics } from "./derive/daily-analytics.ts";
import { deriveVehicles } from "./derive/derive-vehicles.ts";
import { eventMessages } from "./event-messages.ts";
import { histogramFields } from "./histogram-fields.ts";
import { fixKey, insertLocations, storedCopies } from "./store/insert-locations.ts";
import { insertRejects } from "./store/insert-rejects.ts";
import type { PartitionCache } from "./store/partitions.ts";
import { lockVehicles, saveVehicles } from "./store/vehicle-state.ts";

export interface BatchResult {
  inserted: number;
  duplicates: number;
  rejected: number;
  anomalies: number;
  events: number;
}

export type WorkerRulesConfig = Pick<
  Config,
  | "FLEET_TZ"
  | "RETENTION_DAYS"
  | "MOVING_SPEED_KMH"
  | "STOP_MIN_SECONDS"
  | "TRIP_MIN_DISTANCE_M"
  | "SKEW_ANOMALY_S"
>;

export interface ProcessBatchDeps {
  config: WorkerRulesConfig;
  pool: pg.Pool;
  redis: Redis;
  partitions: PartitionCache;
  log: Logger;
  now?: () => number;
}

const DAY_MS = 86_400_000;
// a replay after a late fix starts at most this much event time before it
const CHECKPOINT_EVERY_MS = 3_600_000;
// SQLSTATE 23514: "no partition of relation found for row": a partition was dropped under us
const NO_PARTITION = "23514";

/**
 * A batch PostgreSQL refuses with a data error (SQLSTATE class 22: a value out of range, bad
 * encoding …; 23502: a NULL where none may be) would fail on every retry, for a week, holding its
 * good fixes with it. The bridge validates every fix, so this is defence in depth against a job
 * from an older or foreign producer: the batch is split in halves until the refused item is alone,
 * every other item is stored, and the refused one goes to the dead letter as E_STORAGE with
 * PostgreSQL's message. Sub-batch ids derive from the batch id, so a retried job splits the same
 * way and stores nothing twice.
 */
export async function processBatch(
  deps: ProcessBatchDeps,
  batchId: string,
  job: BatchJob,
): Promise<BatchResult> {
  try {
    return await processOnce(deps, batchId, job);
  } catch (err) {
    if (!isDataError(err)) throw err;
    const items = job.fixes.length + job.rejects.length;
    if (items > 1) {
      deps.log.warn(
        { jobId: batchId, items, err: (err as Error).message },
        "data error: splitting the batch",
      );
      const fixesHalf = Math.ceil(job.fixes.length / 2);
      const rejectsHalf = Math.ceil(job.rejects.length / 2);
      // each half holds fewer items than the whole, so this ends with single items
      const [a, b]: BatchJob[] =
        job.fixes.length > 1
          ? [
              { ...job, fixes: job.fixes.slice(0, fixesHalf) },
              { ...job, fixes: job.fixes.slice(fixesHalf), rejects: [] },
            ]
          : job.fixes.length === 1
            ? [
                { ...job, rejects: [] },
                { ...job, fixes: [] },
              ]
            : [
                { ...job, rejects: job.rejects.slice(0, rejectsHalf) },
                { ...job, rejects: job.rejects.slice(rejectsHalf) },
              ];
      // both halves are tried, so whatever can be stored is, before an error goes back to BullMQ
      let failure: unknown;
      const none: BatchResult = { inserted: 0, duplicates: 0, rejected: 0, anomalies: 0, events: 0 };
      const ra = await processBatch(deps, `${batchId}/a`, a as BatchJob).catch((e: unknown) => {
        failure = e;
        return none;
      });
      const rb = await processBatch(deps, `${batchId}/b`, b as BatchJob).catch((e: unknown) => {
        failure ??= e;
        return none;
      });
      if (failure !== undefined) throw failure;
      return {
        inserted: ra.inserted + rb.inserted,
        duplicates: ra.duplicates + rb.duplicates,
        rejected: ra.rejected + rb.rejected,
        anomalies: ra.anomalies + rb.anomalies,
        events: ra.events + rb.events,
      };
    }
    // One item left. Is it the item itself PostgreSQL refuses, or the state its derivations meet
    // (then every fix of that vehicle would fail alone, and quarantining good fixes would be wrong)?
    // Its plain insert, tried and rolled back, tells.
    if (!(await itemRefused(deps.pool, batchId, job))) throw err;
    const code = (err as { code?: string }).code;
    const refused = job.fixes[0] ?? job.rejects[0];
    const text = (v: unknown, max: number) => (typeof v === "string" ? cutPayload(v).slice(0, max) : "");
    const at = Number(refused?.receivedAt);
    // only storable values: the raw item goes whole into the payload, as JSON text
    const quarantined: Reject = {
      vehicleId: text(refused?.vehicleId, 64),
      topic: text(job.rejects[0]?.topic, 256),
      reason: "E_STORAGE",
      detail: text(`SQLSTATE ${code}: ${(err as Error).message}`, 1000),
      payload: cutPayload(JSON.stringify(refused) ?? ""),
      receivedAt: Number.isFinite(at) && at > 0 && at < 32_503_680_000_000 ? at : Date.now(),
      messageId: text(refused?.messageId, 128),
    };
    deps.log.error(
      {
        jobId: batchId,
        vehicleId: quarantined.vehicleId,
        messageId: quarantined.messageId,
        detail: quarantined.detail,
        item: quarantined.payload,
      },
      "refused by PostgreSQL: kept in the dead letter as E_STORAGE",
    );
    let r: BatchResult = { inserted: 0, duplicates: 0, rejected: 0, anomalies: 0, events: 0 };
    try {
      r = await processOnce(deps, `${batchId}/q`, {
        fixes: [],
        rejects: [quarantined],
        sealedAt: job.sealedAt,
      });
    } catch (qErr) {
      if (!isDataError(qErr)) throw qErr;
      // even the cleaned copy is refused: the log line above is what is kept
      deps.log.error(
        { jobId: batchId, err: (qErr as Error).message },
        "E_STORAGE row refused too; kept in the log only",
      );
    }
    await deps.redis.hincrby(redisKeys.metrics, "worker_quarantined", 1);
    return r;
  }
}

/** True when the lone item's own insert fails with a data error (tried in a transaction rolled back). */
async function itemRefused(pool: pg.Pool, batchId: string, job: BatchJob): Promise<boolean> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await insertLocations(client, job.fixes);
    await insertRejects(client, `${batchId}/probe`, job.rejects);
    return false;
  } catch (err) {
    if (isDataError(err)) return true;
    throw err;
  } finally {
    await client.query("ROLLBACK").catch(() => {});
    client.release();
  }
}

/** SQLSTATE class 22 (data exception) or 23502 (not null): the same input fails every time. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && (code.startsWith("22") || code === "23502");
}

/**
 * The worker's steps for one job, in order:
 *   1. make sure a partition exists for every time in the batch (short transactions of their own)
 *   2. one transaction:
 *      a. lock the state rows of the batch's vehicles (FOR UPDATE, id order)
 *      b. fixes (idempotent; learn which were new)
 *      c. rejects into the dead letter
 *      d. anomalies: late, duplicate, skewed
 *      e. daily analytics of the vehicle-days the new fixes fall in
 *      f. trips, stops and geofence events in event time (replayed after late fixes)
 *      g. the vehicles' state: newest fix, moving/stopped, machine
 *   3. one pipeline: the new geofence events on the events channel, counters for /metrics
 * Any error propagates: BullMQ retries the whole job with backoff, and step 2 is idempotent. A
 * partition dropped between 1 and 2 is recreated and step 2 run again at once.
 */
async function processOnce(deps: ProcessBatchDeps, batchId: string, job: BatchJob): Promise<BatchResult> {
  const { pool, partitions } = deps;
  const started = Date.now();
  const times = job.fixes.map((f) => f.recordedAt);
  await partitions.ensure(pool, times);

  let written: Written;
  try {
    written = await inTransaction(pool, (client) => writeBatch(client, deps, batchId, job));
  } catch (err) {
    if ((err as { code?: string }).code !== NO_PARTITION) throw err;
    partitions.clear();
    await partitions.ensure(pool, times);
    written = await inTransaction(pool, (client) => writeBatch(client, deps, batchId, job));
  }
  const committed = Date.now();
  const { inserted, rejected, anomalies, messages } = written;
  const duplicates = job.fixes.length - inserted;

  const p = deps.redis.pipeline();
  if (messages.length > 0)
    p.publish(channelOf(deps.redis, redisKeys.eventsChannel), JSON.stringify(messages));
  p.hincrby(redisKeys.metrics, "worker_fixes_inserted", inserted);
  if (duplicates > 0) p.hincrby(redisKeys.metrics, "worker_fixes_duplicate", duplicates);
  if (rejected > 0) p.hincrby(redisKeys.metrics, "worker_rejects_stored", rejected);
  for (const kind of ANOMALY_KINDS) {
    const n = anomalies[kind];
    if (n > 0) p.hincrby(redisKeys.metrics, `worker_anomalies:${kind}`, n);
  }
  if (messages.length > 0) p.hincrby(redisKeys.metrics, "worker_geofence_events", messages.length);
  if (written.replayed > 0) p.hincrby(redisKeys.metrics, "worker_replays", written.replayed);
  if (written.skipped > 0) p.hincrby(redisKeys.metrics, "worker_replays_skipped", written.skipped);
  p.hincrby(redisKeys.metrics, "worker_batches", 1);
  p.hincrby(redisKeys.metrics, "worker_insert_ms_total", committed - started);
  const latencies = [
    ...histogramFields("worker_commit_ms", [committed - started]),
    ...histogramFields(
      "pipeline_latency_ms",
      job.fixes.map((f) => committed - f.receivedAt),
    ),
  ];
  for (const [field, n] of latencies) p.hincrby(redisKeys.metrics, field, n);
  await p.exec();

  const anomalyCount = anomalies.late + anomalies.duplicate + anomalies.skewed;
  deps.log.info(
    {
      jobId: batchId,
      inserted,
      duplicates,
      rejected,
      anomalies: anomalyCount,
      events: messages.length,
      replayed: written.replayed,
      ms: committed - started,
    },
    "batch committed",
  );
  if (deps.log.isLevelEnabled("debug")) {
    for (const f of job.fixes) {
      deps.log.debug({ jobId: batchId, vehicleId: f.vehicleId, messageId: f.messageId }, "fix committed");
    }
  }
  return { inserted, duplicates, rejected, anomalies: anomalyCount, events: messages.length };
}

interface Written {
  inserted: number;
  rejected: number;
  anomalies: Record<(typeof ANOMALY_KINDS)[number], number>;
  messages: ReturnType<typeof eventMessages>;
  replayed: number;
  skipped: number;
}

async function writeBatch(
  client: pg.PoolClient,
  deps: ProcessBatchDeps,
  batchId: string,
  job: BatchJob,
): Promise<Written> {
  const { config } = deps;
  const now = (deps.now ?? Date.now)();
  const retainedFrom = now - config.RETENTION_DAYS * DAY_MS;

  const locked = await lockVehicles(
    client,
    job.fixes.map((f) => f.vehicleId),
  );
  const inserted = await insertLocations(client, job.fixes);
  const rejected = await insertRejects(client, batchId, job.rejects);

  const notInserted = job.fixes.filter((f) => !inserted.has(fixKey(f.vehicleId, f.recordedAt)));
  const found = detectAnomalies(
    job.fixes,
    inserted,
    new Map([...locked].map(([id, v]) => [id, v.lastFixAt])),
    await storedCopies(client, notInserted),
    config.SKEW_ANOMALY_S * 1000,
  );
  await insertAnomalies(client, found);

  await updateDailyAnalytics(client, inserted, {
    fleetTz: config.FLEET_TZ,
    movingSpeedKmh: config.MOVING_SPEED_KMH,
    retainedFrom,
  });

  const derived = await deriveVehicles(client, locked, inserted, {
    movingSpeedKmh: config.MOVING_SPEED_KMH,
    stopMinMs: config.STOP_MIN_SECONDS * 1000,
    tripMinDistanceM: config.TRIP_MIN_DISTANCE_M,
    checkpointEveryMs: CHECKPOINT_EVERY_MS,
    retainedFrom,
  });

  const newest = new Map<string, { fix: number | null; received: number }>();
  for (const f of job.fixes) {
    const cur = newest.get(f.vehicleId) ?? { fix: locked.get(f.vehicleId)?.lastFixAt ?? null, received: 0 };
    const stored = inserted.has(fixKey(f.vehicleId, f.recordedAt));
    newest.set(f.vehicleId, {
      fix: stored && (cur.fix === null || f.recordedAt > cur.fix) ? f.recordedAt : cur.fix,
      received: Math.max(cur.received, f.receivedAt),
    });
  }
  await saveVehicles(
    client,
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

  const anomalies = { late: 0, duplicate: 0, skewed: 0 };
  for (const a of found) anomalies[a.kind]++;
  return {
    inserted: inserted.size,
    rejected,
    anomalies,
    messages: eventMessages(derived.events, derived.replayed),
    replayed: derived.replayed.size,
    skipped: derived.skipped,
  };
}

async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    // JIT compiles for high cost estimates; a batch's statements are index probes of a few ms,
    // and a measured 1.7 s of compiling dwarfed them (EXPLAIN ANALYZE of the analytics step)
    await client.query("BEGIN; SET LOCAL jit = off");
    const out = await fn(client);
    await client.query("COMMIT");
    return out;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
