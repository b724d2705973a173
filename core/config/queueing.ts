import { z } from "zod";
import { DEFAULT_QUEUE_PARTITIONS } from "../queues.ts";
import { nonNegativeInt, positiveInt } from "./fields.ts";

/** The BullMQ queues between bridges and workers (core/queues.ts). */
export const queueVars = z.object({
  QUEUE_PARTITIONS: positiveInt
    .max(64)
    .default(DEFAULT_QUEUE_PARTITIONS)
    .describe(
      "locations-* queues; a vehicle's fixes always use the same one, processed in order; the same on bridges and workers",
    ),
});

export const workerVars = z.object({
  WORKER_CONCURRENCY: positiveInt
    .max(64)
    .default(1)
    .describe(
      "jobs of one partition a worker runs at once; above 1 a vehicle's batches may commit out of order (replays); the same on every worker",
    ),
  WORKER_COALESCE_MAX_FIXES: nonNegativeInt
    .max(100_000)
    .default(5000)
    .describe(
      "with WORKER_CONCURRENCY 1, jobs of a partition waiting behind the active one are committed with it in one transaction, up to this many fixes and rejects; 0 turns it off",
    ),
  WORKER_LINGER_MS: nonNegativeInt
    .max(1000)
    .default(100)
    .describe(
      "with coalescing on, a batch whose first job is younger than this waits until it is this old, so that the jobs the bridges queue meanwhile join it (fewer, larger transactions); 0 turns it off",
    ),
});
