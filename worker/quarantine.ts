import type pg from "pg";
import type { Logger } from "../core/logger.ts";
import type { BatchJob } from "../core/queues.ts";
import type { Redis } from "../core/redis.ts";
import { cutPayload, type Reject } from "../core/reject-reasons.ts";
import type { BatchResult } from "./batch-context.ts";
import { countQuarantined } from "./metrics.ts";
import { insertLocations } from "./store/insert-locations.ts";
import { insertRejects } from "./store/insert-rejects.ts";

export interface QuarantineDeps {
  pool: pg.Pool;
  redis: Redis;
  log: Logger;
}

/** One attempt at a (sub-)batch: its partitions, stages and transaction (process-batch.ts). */
export type ProcessOnce = (batchId: string, job: BatchJob) => Promise<BatchResult>;

const none = (): BatchResult => ({ inserted: 0, duplicates: 0, rejected: 0, anomalies: 0, events: 0 });

/**
 * A batch PostgreSQL refuses with a data error (SQLSTATE class 22: a value out of range, bad
 * encoding …; 23502: a NULL where none may be) would fail on every retry, for a week, holding its
 * good fixes with it. The bridge validates every fix, so this is defence in depth against a job
 * from an older or foreign producer: the batch is split in halves until the refused item is alone,
 * every other item is stored, and the refused one goes to the dead letter as E_STORAGE with
 * PostgreSQL's message. Sub-batch ids derive from the batch id, so a retried job splits the same
 * way and stores nothing twice.
 */
export async function quarantineDataErrors(
  deps: QuarantineDeps,
  batchId: string,
  job: BatchJob,
  processOnce: ProcessOnce,
): Promise<BatchResult> {
  try {
    return await processOnce(batchId, job);
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
      const ra = await quarantineDataErrors(deps, `${batchId}/a`, a as BatchJob, processOnce).catch(
        (e: unknown) => {
          failure = e;
          return none();
        },
      );
      const rb = await quarantineDataErrors(deps, `${batchId}/b`, b as BatchJob, processOnce).catch(
        (e: unknown) => {
          failure ??= e;
          return none();
        },
      );
      if (failure !== undefined) throw failure;
      return sumResults([ra, rb]);
    }
    // One item left. Is it the item itself PostgreSQL refuses, or the state its derivations meet
    // (then every fix of that vehicle would fail alone, and quarantining good fixes would be wrong)?
    // Its plain insert, tried and rolled back, tells.
    if (!(await itemRefused(deps.pool, batchId, job))) throw err;
    const quarantined = storageReject(job, err);
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
    let r = none();
    try {
      r = await processOnce(`${batchId}/q`, { fixes: [], rejects: [quarantined], sealedAt: job.sealedAt });
    } catch (qErr) {
      if (!isDataError(qErr)) throw qErr;
      // even the cleaned copy is refused: the log line above is what is kept
      deps.log.error(
        { jobId: batchId, err: (qErr as Error).message },
        "E_STORAGE row refused too; kept in the log only",
      );
    }
    await countQuarantined(deps.redis);
    return r;
  }
}

/** The E_STORAGE reject for a batch's lone refused item, holding only storable values. */
function storageReject(job: BatchJob, err: unknown): Reject {
  const code = (err as { code?: string }).code;
  const refused = job.fixes[0] ?? job.rejects[0];
  const text = (v: unknown, max: number) => (typeof v === "string" ? cutPayload(v).slice(0, max) : "");
  const at = Number(refused?.receivedAt);
  // the raw item goes whole into the payload, as JSON text
  return {
    vehicleId: text(refused?.vehicleId, 64),
    topic: text(job.rejects[0]?.topic, 256),
    reason: "E_STORAGE",
    detail: text(`SQLSTATE ${code}: ${(err as Error).message}`, 1000),
    payload: cutPayload(JSON.stringify(refused) ?? ""),
    receivedAt: Number.isFinite(at) && at > 0 && at < 32_503_680_000_000 ? at : Date.now(),
    messageId: text(refused?.messageId, 128),
  };
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

/** The counts of several (sub-)batches as one. */
export function sumResults(results: readonly BatchResult[]): BatchResult {
  const sum = none();
  for (const r of results) {
    sum.inserted += r.inserted;
    sum.duplicates += r.duplicates;
    sum.rejected += r.rejected;
    sum.anomalies += r.anomalies;
    sum.events += r.events;
  }
  return sum;
}

/** SQLSTATE class 22 (data exception) or 23502 (not null): the same input fails every time. */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && (code.startsWith("22") || code === "23502");
}
