import { hostname } from "node:os";
import { Queue, Worker } from "bullmq";
import { loadConfigOrExit, workerConfigSchema } from "../core/config.ts";
import { createLogger } from "../core/logger.ts";
import { createAlertNotifier, NotificationQueue } from "../core/notifications.ts";
import { handleProcessSignals } from "../core/process.ts";
import { MAINTENANCE_QUEUE } from "../core/queues.ts";
import { createRedis } from "../core/redis.ts";
import { batchLogSummary } from "./batch-log-summary.ts";
import { createWorker } from "./create-worker.ts";
import { recordDerivationSettings } from "./derive/derivation-settings.ts";
import { sweepPresenceAlerts } from "./derive/presence-alerts.ts";
import { closeSilentTrips } from "./derive/silent-trips.ts";
import { maintainPartitions } from "./maintenance.ts";
import { publishSweptAlerts } from "./metrics.ts";
import { createNotifyWorker } from "./notify/create-notify-worker.ts";
import { createWorkerPool } from "./pool.ts";

/**
 * worker: writes queued batches into PostGIS, keeps the partitions maintained, and delivers
 * notifications (worker/notify/).
 */
const config = loadConfigOrExit(workerConfigSchema);
const log = createLogger("worker", config.LOG_LEVEL);
const pool = createWorkerPool(config);
const redis = createRedis(config.REDIS_URL);

const maintain = () =>
  maintainPartitions(
    pool,
    {
      unit: config.PARTITION_INTERVAL,
      ahead: config.PARTITIONS_AHEAD,
      retentionDays: config.RETENTION_DAYS,
      rejectedRetentionDays: config.REJECTED_RETENTION_DAYS,
    },
    log,
  );
await maintain();
// the rules this worker derives with, for `logitrack recompute` to check its own against
await recordDerivationSettings(pool, config, `${hostname()}:${process.pid}`);

// trips of vehicles gone silent (worker/derive/silent-trips.ts)
const sweepSilences = async () => {
  const r = await closeSilentTrips(
    pool,
    { tripMinDistanceM: config.TRIP_MIN_DISTANCE_M, gapMs: config.TRIP_GAP_SECONDS * 1000 },
    Date.now(),
  );
  if (r.vehicles > 0) log.info(r, "trips of silent vehicles ended");
  // offline / no_fix alert rules, judged against the wall clock (worker/derive/presence-alerts.ts)
  const alerts = await sweepPresenceAlerts(pool, { now: Date.now(), fleetTz: config.FLEET_TZ });
  if (alerts.length > 0) {
    worker.kickAlerts();
    await publishSweptAlerts(redis, alerts);
    log.info({ phases: alerts.length }, "offline / no-fix alert phases");
  }
};

// alert phases the worker commits go to the notifications queue (core/notifications.ts)
const notificationQueue = new NotificationQueue(createRedis(config.REDIS_URL));
const worker = createWorker({
  config,
  pool,
  redis,
  connection: createRedis(config.REDIS_URL),
  log,
  notify: createAlertNotifier({ queue: notificationQueue, pool }),
});
const summary = batchLogSummary(log, 60_000);
worker.on("completed", (_job, result) => summary.add(result));
await worker.ready;
// housekeeping as BullMQ job schedulers: with several workers, one of them runs each
const maintenanceQueue = new Queue(MAINTENANCE_QUEUE, { connection: redis });
maintenanceQueue.on("error", (err) => log.debug({ err: err.message }, "maintenance queue connection error"));
await maintenanceQueue.upsertJobScheduler("partitions", { every: 3_600_000 }, { name: "partitions" });
await maintenanceQueue.upsertJobScheduler("silences", { every: 60_000 }, { name: "silences" });
const maintenanceWorker = new Worker(
  MAINTENANCE_QUEUE,
  async (job) => (job.name === "silences" ? sweepSilences() : maintain()),
  { connection: createRedis(config.REDIS_URL) },
);
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
  await notificationQueue.close();
  summary.stop();
  await maintenanceQueue.close();
  await pool.end();
  redis.disconnect();
});
