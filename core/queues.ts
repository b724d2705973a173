import { type DefaultJobOptions, type Job, Queue } from "bullmq";
import type { Fix } from "./fix.ts";
import type { Redis } from "./redis.ts";
import type { Reject } from "./reject-reasons.ts";

/**
 * The BullMQ queues between the bridge and the worker: `locations-0` … `locations-{N-1}`
 * (N = QUEUE_PARTITIONS). A vehicle's fixes always go to the same partition (partitionOf), and
 * each partition is processed one job at a time across all workers (worker/create-worker.ts), so
 * a vehicle's batches are stored in the order they were queued, the way Kafka keys a topic.
 */
export const LOCATIONS_QUEUE = "locations";
export const DEFAULT_QUEUE_PARTITIONS = 4;
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

export function locationQueueName(partition: number): string {
  return `${LOCATIONS_QUEUE}-${partition}`;
}

/** The partition of a vehicle: FNV-1a of its id, modulo the partition count. Stable across processes. */
export function partitionOf(vehicleId: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < vehicleId.length; i++) {
    h ^= vehicleId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

type JobCountType = Parameters<Queue<BatchJob>["getJobCounts"]>[number];

/** The `locations-*` queues as one: the bridge adds batches, the API reads their depth. */
export class LocationQueues {
  readonly queues: Queue<BatchJob>[];

  constructor(connection: Redis, partitions: number, prefix = "bull") {
    this.queues = Array.from(
      { length: partitions },
      (_, p) =>
        new Queue<BatchJob>(locationQueueName(p), {
          connection,
          prefix,
          defaultJobOptions: BATCH_JOB_OPTIONS,
        }),
    );
  }

  get partitions(): number {
    return this.queues.length;
  }

  /** The id of the job that carries `vehicleId`'s part of batch `batchId`. */
  jobIdOf(batchId: string, vehicleId: string): string {
    return `${batchId}-${partitionOf(vehicleId, this.queues.length)}`;
  }

  /** The job with this id, whichever partition it is in. */
  async getJob(jobId: string): Promise<Job<BatchJob> | undefined> {
    const m = /-(\d+)$/.exec(jobId);
    return m ? this.queues[Number(m[1])]?.getJob(jobId) : undefined;
  }

  /**
   * Queues one flushed batch as one job per partition it touches, job id `{batchId}-{partition}`.
   * Resolves when all are queued; an add retried after a failure or a lost reply (same ids) is
   * ignored by BullMQ for the jobs that were already there, so nothing is queued twice.
   */
  async add(batchId: string, job: BatchJob): Promise<void> {
    const n = this.queues.length;
    const parts = n === 1 ? new Map([[0, job]]) : splitByPartition(job, n);
    await Promise.all(
      [...parts].map(([p, b]) =>
        (this.queues[p] as Queue<BatchJob>).add("batch", b, { jobId: `${batchId}-${p}` }),
      ),
    );
  }

  /** Job counts summed over the partitions (Queue#getJobCounts). */
  async getJobCounts(...types: JobCountType[]): Promise<Record<string, number>> {
    const all = await Promise.all(this.queues.map((q) => q.getJobCounts(...types)));
    const out: Record<string, number> = {};
    for (const counts of all) for (const [k, v] of Object.entries(counts)) out[k] = (out[k] ?? 0) + v;
    return out;
  }

  async getWaitingCount(): Promise<number> {
    return (await this.getJobCounts("waiting")).waiting ?? 0;
  }

  onError(listener: (err: Error, queue: string) => void): void {
    for (const q of this.queues) q.on("error", (err) => listener(err, q.name));
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}

/** A batch's fixes and rejects by their vehicle's partition, each in its order; empty partitions left out. */
function splitByPartition(job: BatchJob, n: number): Map<number, BatchJob> {
  const parts = new Map<number, BatchJob>();
  const partOf = (vehicleId: string) => {
    const p = partitionOf(vehicleId, n);
    let b = parts.get(p);
    if (!b) {
      b = { fixes: [], rejects: [], sealedAt: job.sealedAt };
      parts.set(p, b);
    }
    return b;
  };
  for (const f of job.fixes) partOf(f.vehicleId).fixes.push(f);
  for (const r of job.rejects) partOf(r.vehicleId).rejects.push(r);
  return parts;
}

/** The bridge's side of the `locations-*` queues. */
export function createLocationQueues(connection: Redis, partitions: number, prefix = "bull"): LocationQueues {
  return new LocationQueues(connection, partitions, prefix);
}
