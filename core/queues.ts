import { type DefaultJobOptions, Queue } from "bullmq";
import type { Fix } from "./fix.ts";
import type { Redis } from "./redis.ts";
import type { Reject } from "./reject-reasons.ts";

/** The BullMQ queue between the bridge and the worker: one job = one flushed batch. */
export const LOCATIONS_QUEUE = "locations";
/** The worker's housekeeping (partitions ahead, retention). */
export const MAINTENANCE_QUEUE = "maintenance";

export interface BatchJob {
  fixes: Fix[];
  rejects: Reject[];
  /** when the batch was sealed by the bridge (epoch ms), for end-to-end latency */
  sealedAt: number;
}

/**
 * BullMQ's defaults lose data under a long outage (attempts 1). A batch that fails because
 * PostgreSQL is down is retried with capped exponential backoff (worker `backoffStrategy`,
 * 1 s doubling to 60 s) for ~a week before it lands in `failed`, where
 * `logitrack queue retry-failed` brings it back. History is bounded.
 */
export const BATCH_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 10_000,
  backoff: { type: "capped" },
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 50_000 },
};

export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_CAP_MS = 60_000;

export function cappedBackoff(attemptsMade: number): number {
  return Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attemptsMade - 1));
}

/** The bridge's side of the `locations` queue. */
export function createLocationsQueue(connection: Redis, prefix = "bull"): Queue<BatchJob> {
  return new Queue<BatchJob>(LOCATIONS_QUEUE, { connection, prefix, defaultJobOptions: BATCH_JOB_OPTIONS });
}
