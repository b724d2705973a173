import { type Job, Queue, Worker } from "bullmq";
import type pg from "pg";
import type { AlertNotifier } from "../core/alerts.ts";
import type { Config } from "../core/config.ts";
import type { Logger } from "../core/logger.ts";
import { type BatchJob, cappedBackoff, LOCATIONS_QUEUE, locationQueueName } from "../core/queues.ts";
import type { Redis } from "../core/redis.ts";
import { noNotifier, startAlertOutbox } from "./alert-outbox.ts";
import type { BatchResult, WorkerRulesConfig } from "./batch-context.ts";
import { committedWith, markCommitted, takeWaiting } from "./coalesce.ts";
import { countNotifyFailure } from "./metrics.ts";
import { processBatches } from "./process-batch.ts";
import { PartitionCache } from "./store/partitions.ts";

export interface WorkerDeps {
  config: Pick<
    Config,
    | "WORKER_CONCURRENCY"
    | "WORKER_COALESCE_MAX_FIXES"
    | "WORKER_LINGER_MS"
    | "QUEUE_PARTITIONS"
    | "PARTITION_INTERVAL"
  > &
    WorkerRulesConfig;
  pool: pg.Pool;
  /** for counters */
  redis: Redis;
  /** BullMQ's own connection (it blocks on it) */
  connection: Redis;
  log: Logger;
  /** BullMQ key prefix; tests isolate themselves with their own */
  prefix?: string;
  /** told of every new alert phase that is not quiet, at least once (worker/alert-outbox.ts); default: nobody */
  notify?: AlertNotifier;
}

type BatchWorker = Worker<BatchJob, BatchResult>;

/** The BullMQ workers of one worker process: one per `locations-*` partition queue. */
export interface LocationWorkers {
  workers: BatchWorker[];
  /** resolves once every partition's ordering is set and its worker runs */
  ready: Promise<void>;
  on(event: "failed", listener: (job: Job<BatchJob> | undefined, err: Error) => void): void;
  on(event: "completed", listener: (job: Job<BatchJob>, result: BatchResult) => void): void;
  /** hands alert_outbox to the notifier now (after a wall-clock sweep queued alert phases) */
  kickAlerts(): void;
  close(): Promise<void>;
}

/**
 * The worker side of the `locations-*` queues, one BullMQ worker per partition. Its options fix
 * BullMQ's data-losing defaults: a job stalled by a killed worker is retried up to 10 times
 * (maxStalledCount), found within seconds (short lock and stalled interval), and failures back
 * off 1 s → 60 s (capped).
 *
 * Order: with WORKER_CONCURRENCY 1 (the default) each partition queue gets a BullMQ global
 * concurrency of 1, so across every worker process one job per partition is active at a time and
 * a vehicle's batches commit in the order the bridge queued them; replicas share the partitions.
 * Out-of-order commits are still correct (derive/derive-vehicles.ts replays trips and geofence
 * events from a checkpoint), but a replay re-reads up to an hour of a vehicle's fixes: in the
 * bench, unordered job slots on one queue made replays grow with the backlog until the worker
 * committed far fewer fixes than were offered (DESIGN.md, decision 19).
 *
 * With that order in place, the jobs waiting behind the active one are committed with it in one
 * transaction, up to WORKER_COALESCE_MAX_FIXES (coalesce.ts).
 */
export function createWorker(deps: WorkerDeps): LocationWorkers {
  const { config, log } = deps;
  const partitions = new PartitionCache(config.PARTITION_INTERVAL);
  const prefix = deps.prefix ?? "bull";
  const outbox = startAlertOutbox({
    pool: deps.pool,
    notify: deps.notify ?? noNotifier,
    log,
    onFailure: () => void countNotifyFailure(deps.redis).catch(() => {}),
  });
  const listeners: [string, (...args: never[]) => void][] = [];
  const batchDeps = { ...deps, partitions, outbox };
  // queues whose global concurrency of 1 is set: only there is no other job of the queue active
  const ordered = new Set<string>();
  const processJob = async (job: Job<BatchJob>): Promise<BatchResult> => {
    const lead = { id: job.id ?? "", job: job.data };
    const earlier = committedWith(job.progress);
    if (earlier !== undefined)
      return { inserted: 0, duplicates: 0, rejected: 0, anomalies: 0, events: 0, committedWith: earlier };
    const queue = { prefix, name: job.queueName };
    const coalescing = config.WORKER_COALESCE_MAX_FIXES > 0 && ordered.has(job.queueName);
    // a batch costs the worker and PostgreSQL a few ms whatever its size, and a worker that keeps
    // up takes each bridge flush (BATCH_MS) of each partition alone: at any rate it keeps up with,
    // that is up to 50 batches a second per partition. A young first job waits for the ones
    // behind it (bounded by the linger; measured from the job's creation, so a backlog or a retry
    // never waits, nor does a job whose bridge's clock runs ahead of this one's)
    const age = Date.now() - job.timestamp;
    const room = job.data.fixes.length + job.data.rejects.length < config.WORKER_COALESCE_MAX_FIXES;
    if (coalescing && room && age >= 0 && age < config.WORKER_LINGER_MS)
      await new Promise((r) => setTimeout(r, config.WORKER_LINGER_MS - age));
    const parts = coalescing
      ? await takeWaiting(deps.redis, queue, lead, config.WORKER_COALESCE_MAX_FIXES).catch((err: unknown) => {
          log.warn({ err, queue: job.queueName }, "could not read the waiting jobs; this one alone");
          return [lead];
        })
      : [lead];
    return processBatches(batchDeps, parts, (ids) => markCommitted(deps.redis, queue, lead.id, ids));
  };
  const newWorker = (name: string) => {
    const worker = new Worker<BatchJob, BatchResult>(name, processJob, {
      connection: deps.connection,
      prefix,
      concurrency: config.WORKER_CONCURRENCY,
      autorun: false,
      maxStalledCount: 10,
      lockDuration: 10_000,
      stalledInterval: 5_000,
      settings: { backoffStrategy: (attemptsMade: number) => cappedBackoff(attemptsMade) },
    });
    worker.on("failed", (job, err) =>
      log.warn(
        { queue: worker.name, jobId: job?.id, attempt: job?.attemptsMade, err: err.message },
        "batch failed; will retry",
      ),
    );
    worker.on("error", (err) => log.error({ err, queue: worker.name }, "worker error"));
    for (const [event, listener] of listeners) worker.on(event as "failed", listener as never);
    return worker;
  };
  const workers = Array.from({ length: config.QUEUE_PARTITIONS }, (_, p) => newWorker(locationQueueName(p)));
  let closing = false;

  const ready = (async () => {
    // queues this configuration does not name but Redis holds jobs in: the pre-partition
    // `locations`, or partitions above QUEUE_PARTITIONS (lowered, or a bridge configured with
    // more). They are consumed too, so no acknowledged batch is stranded.
    for (const name of await strayQueues(deps.connection, prefix, config.QUEUE_PARTITIONS).catch(
      (err: unknown) => {
        log.warn({ err }, "could not look for stray location queues");
        return [];
      },
    )) {
      log.warn({ queue: name }, "consuming a location queue outside QUEUE_PARTITIONS");
      workers.push(newWorker(name));
    }
    for (const worker of workers) {
      const queue = new Queue(worker.name, { connection: deps.connection, prefix });
      try {
        // every replica must run the same WORKER_CONCURRENCY: the last one to start sets this
        if (config.WORKER_CONCURRENCY === 1) {
          await queue.setGlobalConcurrency(1);
          ordered.add(worker.name);
        } else await queue.removeGlobalConcurrency();
      } catch (err) {
        log.warn({ err, queue: worker.name }, "partition ordering not set");
      } finally {
        await queue.close().catch(() => {});
      }
    }
    if (closing) return;
    // run() resolves only when the worker closes
    for (const worker of workers) void worker.run().catch((err) => log.error({ err }, "worker stopped"));
  })();

  return {
    workers,
    ready,
    on(event: "failed" | "completed", listener: (...args: never[]) => void) {
      listeners.push([event, listener]);
      for (const w of workers) w.on(event, listener as never);
    },
    kickAlerts: () => outbox.kick(),
    async close() {
      // not waiting for `ready`: with Redis down it waits too, and a closing worker must not start
      closing = true;
      await Promise.all(workers.map((w) => w.close()));
      await outbox.close();
    },
  };
}

/** Location queues with BullMQ keys in Redis that are not `locations-0` … `locations-{n-1}`. */
async function strayQueues(redis: Redis, prefix: string, n: number): Promise<string[]> {
  const found = new Set<string>();
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:${LOCATIONS_QUEUE}*:id`, "COUNT", 1000);
    cursor = next;
    for (const key of keys) {
      const name = key.slice(prefix.length + 1, -":id".length);
      const m = /^locations(?:-(\d+))?$/.exec(name);
      if (m && (m[1] === undefined || Number(m[1]) >= n)) found.add(name);
    }
  } while (cursor !== "0");
  return [...found].sort();
}
