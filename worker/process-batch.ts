import type pg from "pg";
import type { Logger } from "../core/logger.ts";
import type { BatchJob } from "../core/queues.ts";
import { type Redis, redisKeys } from "../core/redis.ts";
import { insertLocations } from "./insert-locations.ts";
import { insertRejects } from "./insert-rejects.ts";
import type { PartitionCache } from "./partitions.ts";

export interface BatchResult {
  inserted: number;
  duplicates: number;
  rejected: number;
}

export interface ProcessBatchDeps {
  pool: pg.Pool;
  redis: Redis;
  partitions: PartitionCache;
  log: Logger;
}

/**
 * The worker's steps for one job, in order:
 *   1. make sure a partition exists for every time in the batch (short transactions of their own)
 *   2. one transaction: fixes (idempotent) + rejects into the dead letter
 *   3. one pipeline of counters for /metrics
 * Any error propagates: BullMQ retries the whole job with backoff, and step 2 is idempotent.
 */
export async function processBatch(
  deps: ProcessBatchDeps,
  batchId: string,
  job: BatchJob,
): Promise<BatchResult> {
  const { pool, partitions } = deps;
  const started = Date.now();
  await partitions.ensure(
    pool,
    job.fixes.map((f) => f.recordedAt),
  );

  const client = await pool.connect();
  let inserted = 0;
  let rejected = 0;
  try {
    await client.query("BEGIN");
    inserted = await insertLocations(client, job.fixes);
    rejected = await insertRejects(client, batchId, job.rejects);
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    // 23514: "no partition of relation found for row": a partition was dropped under us
    if ((err as { code?: string }).code === "23514") partitions.clear();
    throw err;
  } finally {
    client.release();
  }
  const committed = Date.now();
  const duplicates = job.fixes.length - inserted;

  const p = deps.redis.pipeline();
  p.hincrby(redisKeys.metrics, "worker_fixes_inserted", inserted);
  if (duplicates > 0) p.hincrby(redisKeys.metrics, "worker_fixes_duplicate", duplicates);
  if (rejected > 0) p.hincrby(redisKeys.metrics, "worker_rejects_stored", rejected);
  p.hincrby(redisKeys.metrics, "worker_batches", 1);
  p.hincrby(redisKeys.metrics, "worker_insert_ms_total", committed - started);
  await p.exec();

  deps.log.info(
    { jobId: batchId, inserted, duplicates, rejected, ms: committed - started },
    "batch committed",
  );
  if (deps.log.isLevelEnabled("debug")) {
    for (const f of job.fixes) {
      deps.log.debug({ jobId: batchId, vehicleId: f.vehicleId, messageId: f.messageId }, "fix committed");
    }
  }
  return { inserted, duplicates, rejected };
}
