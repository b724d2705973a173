import { randomUUID } from "node:crypto";
import { type Queue, QueueEvents } from "bullmq";
import type pg from "pg";
import type { AlertNotifier } from "../../core/alerts.ts";
import { type Config, loadConfig } from "../../core/config.ts";
import { createPool } from "../../core/db.ts";
import type { Fix } from "../../core/fix.ts";
import { createLogger } from "../../core/logger.ts";
import { type BatchJob, createLocationQueues } from "../../core/queues.ts";
import { channelOf, createRedis, type Redis, redisKeys } from "../../core/redis.ts";
import type { BatchResult } from "../../worker/batch-context.ts";
import { createWorker, type LocationWorkers } from "../../worker/create-worker.ts";
import { createTestDatabase, createTestRedis } from "../support/services.ts";

/**
 * The worker through its front door: real BullMQ jobs on a queue of the test's own, processed by
 * createWorker against a database cloned from the migrated template. `send` resolves when the
 * job has completed, so a test decides the arrival order of its batches. One partition
 * (QUEUE_PARTITIONS=1): every batch is one job on `locations-0`.
 */
export interface WorkerHarness {
  config: Config;
  pool: pg.Pool;
  redis: Redis;
  queue: Queue<BatchJob>;
  worker: LocationWorkers;
  send(fixes: Fix[]): Promise<BatchResult>;
  /** all batches queued at once; resolves when every one has completed */
  sendAll(batches: Fix[][]): Promise<BatchResult[]>;
  /** one more worker process on the same queue (concurrency WORKER_CONCURRENCY) */
  addWorker(): Promise<LocationWorkers>;
  /** messages seen on the events channel since start */
  published: unknown[];
  close(): Promise<void>;
}

export async function startWorker(
  env: Record<string, string> = {},
  opts: { notify?: AlertNotifier } = {},
): Promise<WorkerHarness> {
  const db = await createTestDatabase();
  const redisUrl = (await createTestRedis()).url;
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    ...env,
    QUEUE_PARTITIONS: "1",
  });
  const log = createLogger("test", config.LOG_LEVEL);
  const pool = createPool(config.DATABASE_URL, 8);
  const conns: Redis[] = [];
  const conn = () => {
    const r = createRedis(redisUrl);
    conns.push(r);
    return r;
  };
  const redis = conn();
  const queue = createLocationQueues(conn(), 1).queues[0] as Queue<BatchJob>;
  const events = new QueueEvents(queue.name, { connection: conn() });
  await events.waitUntilReady();
  // one waitUntilFinished listener per job in flight (sendAll)
  events.setMaxListeners(1000);
  queue.setMaxListeners(1000);
  const workers = [createWorker({ config, pool, redis, connection: conn(), log, ...opts })];
  await workers[0]?.ready;
  const published: unknown[] = [];
  const sub = conn();
  await sub.subscribe(channelOf(sub, redisKeys.eventsChannel));
  sub.on("message", (_channel, raw) => published.push(...(JSON.parse(raw) as unknown[])));
  return {
    config,
    pool,
    redis,
    queue,
    worker: workers[0] as LocationWorkers,
    published,
    async send(fixes) {
      const job = await queue.add(
        "batch",
        { fixes, rejects: [], sealedAt: Date.now() },
        { jobId: randomUUID() },
      );
      return (await job.waitUntilFinished(events, 60_000)) as BatchResult;
    },
    async sendAll(batches) {
      const jobs = await queue.addBulk(
        batches.map((fixes) => ({
          name: "batch",
          data: { fixes, rejects: [], sealedAt: Date.now() },
          opts: { jobId: randomUUID() },
        })),
      );
      return (await Promise.all(jobs.map((j) => j.waitUntilFinished(events, 120_000)))) as BatchResult[];
    },
    async addWorker() {
      const extra = createWorker({ config, pool, redis, connection: conn(), log, ...opts });
      workers.push(extra);
      await extra.ready;
      return extra;
    },
    async close() {
      for (const worker of workers) await worker.close();
      await events.close();
      await queue.close();
      for (const r of conns) r.disconnect();
      await pool.end();
      await db.drop();
    },
  };
}

let seq = 0;

/** A fix as the bridge would hand it to the worker (received now unless said otherwise). */
export function fix(vehicleId: string, t: number, lat: number, lng: number, extra: Partial<Fix> = {}): Fix {
  return {
    vehicleId,
    recordedAt: t,
    lat,
    lng,
    messageId: `m${++seq}`,
    receivedAt: Date.now(),
    ...extra,
  };
}

/** Metres per degree of latitude on the GRS 80 / WGS 84 spheroid at `lat` (the meridian arc). */
export function metresPerDegreeLat(lat: number): number {
  const phi = (lat * Math.PI) / 180;
  return 111_132.954 - 559.822 * Math.cos(2 * phi) + 1.175 * Math.cos(4 * phi);
}

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/**
 * Noon UTC `n` days ago: fixes a few minutes apart from it stay in one UTC day (one partition) and
 * one fleet day (Asia/Dubai, midnight at 20:00 UTC), whatever time of day the test runs.
 */
export const noonDaysAgo = (n: number): number => Math.floor(Date.now() / DAY) * DAY - n * DAY + 12 * HOUR;
