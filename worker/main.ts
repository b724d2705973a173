import { Queue, Worker } from "bullmq";
import { loadConfigOrExit, workerConfigSchema } from "../core/config.ts";
import { createPool } from "../core/db.ts";
import { createLogger } from "../core/logger.ts";
import { handleProcessSignals } from "../core/process.ts";
import { MAINTENANCE_QUEUE } from "../core/queues.ts";
import { createRedis } from "../core/redis.ts";
import { createWorker } from "./create-worker.ts";
import { maintainPartitions } from "./maintenance.ts";
import { createNotifyWorker } from "./notify/create-notify-worker.ts";

/**
 * worker: writes queued batches into PostGIS, keeps the partitions maintained, and delivers
 * notifications (worker/notify/).
 */
const config = loadConfigOrExit(workerConfigSchema);
const log = createLogger("worker", config.LOG_LEVEL);
// a connection per job slot (partitions x concurrency), two for housekeeping, two for notifications
const pool = createPool(config.DATABASE_URL, config.QUEUE_PARTITIONS * config.WORKER_CONCURRENCY + 4);
const redis = createRedis(config.REDIS_URL);

const maintain = () =>
  maintainPartitions(
    pool,
    { unit: config.PARTITION_INTERVAL, ahead: config.PARTITIONS_AHEAD, retentionDays: config.RETENTION_DAYS },
    log,
  );
await maintain();

const worker = createWorker({ config, pool, redis, connection: createRedis(config.REDIS_URL), log });
await worker.ready;
// hourly housekeeping as a BullMQ job scheduler: with several workers, one of them runs it
const maintenanceQueue = new Queue(MAINTENANCE_QUEUE, { connection: redis });
maintenanceQueue.on("error", (err) => log.debug({ err: err.message }, "maintenance queue connection error"));
await maintenanceQueue.upsertJobScheduler("partitions", { every: 3_600_000 }, { name: "partitions" });
const maintenanceWorker = new Worker(MAINTENANCE_QUEUE, maintain, {
  connection: createRedis(config.REDIS_URL),
});
maintenanceWorker.on("error", (err) => log.warn({ err: err.message }, "maintenance worker error"));
// its own module and connections: a slow webhook never holds back the locations pipeline
const notifyWorker = createNotifyWorker({
  config,
  pool,
  redis,
  connection: createRedis(config.REDIS_URL),
  log: log.child({ module: "notify" }),
});
log.info({ partitions: config.QUEUE_PARTITIONS, concurrency: config.WORKER_CONCURRENCY }, "worker started");

handleProcessSignals(log, async () => {
  // stop taking jobs, let the current ones finish, then close the pools
  await Promise.all([worker.close(), maintenanceWorker.close(), notifyWorker.close()]);
  await maintenanceQueue.close();
  await pool.end();
  redis.disconnect();
});
