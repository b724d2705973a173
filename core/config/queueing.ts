import { z } from "zod";
import { DEFAULT_QUEUE_PARTITIONS } from "../queues.ts";
import { positiveInt } from "./fields.ts";

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
});
