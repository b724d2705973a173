import { type Job, Worker } from "bullmq";
import type pg from "pg";
import type { Config } from "../core/config.ts";
import type { Logger } from "../core/logger.ts";
import { type BatchJob, cappedBackoff, LOCATIONS_QUEUE } from "../core/queues.ts";
import type { Redis } from "../core/redis.ts";
import { PartitionCache } from "./partitions.ts";
import { type BatchResult, processBatch, type WorkerRulesConfig } from "./process-batch.ts";

export interface WorkerDeps {
  config: Pick<Config, "WORKER_CONCURRENCY" | "PARTITION_INTERVAL"> & WorkerRulesConfig;
  pool: pg.Pool;
  /** for counters */
  redis: Redis;
  /** BullMQ's own connection (it blocks on it) */
  connection: Redis;
  log: Logger;
  /** BullMQ key prefix; tests isolate themselves with their own */
  prefix?: string;
}

/**
 * The BullMQ worker for the `locations` queue. Its options fix BullMQ's data-losing defaults:
 * a job stalled by a killed worker is retried up to 10 times (maxStalledCount), found within
 * seconds (short lock and stalled interval), and failures back off 1 s → 60 s (capped).
 */
export function createWorker(deps: WorkerDeps): Worker<BatchJob, BatchResult> {
  const partitions = new PartitionCache(deps.config.PARTITION_INTERVAL);
  const worker = new Worker<BatchJob, BatchResult>(
    LOCATIONS_QUEUE,
    (job: Job<BatchJob>) => processBatch({ ...deps, partitions }, job.id ?? "", job.data),
    {
      connection: deps.connection,
      prefix: deps.prefix ?? "bull",
      concurrency: deps.config.WORKER_CONCURRENCY,
      maxStalledCount: 10,
      lockDuration: 10_000,
      stalledInterval: 5_000,
      settings: { backoffStrategy: (attemptsMade: number) => cappedBackoff(attemptsMade) },
    },
  );
  worker.on("failed", (job, err) =>
    deps.log.warn(
      { jobId: job?.id, attempt: job?.attemptsMade, err: err.message },
      "batch failed; will retry",
    ),
  );
  worker.on("error", (err) => deps.log.error({ err }, "worker error"));
  return worker;
}
