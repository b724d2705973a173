import { DelayedError, type Job, Worker } from "bullmq";
import type pg from "pg";
import type { Config } from "../../core/config.ts";
import type { Logger } from "../../core/logger.ts";
import { labelledField } from "../../core/metrics-catalogue.ts";
import { getChannel, type NotificationChannel } from "../../core/notification-channels.ts";
import { type DrainJob, type LaneEntry, NOTIFICATIONS_QUEUE } from "../../core/notifications.ts";
import { cappedBackoff } from "../../core/queues.ts";
import { type Redis, redisKeys } from "../../core/redis.ts";
import { type DeliveryStatus, logAttempt } from "./delivery-log.ts";
import { createMailSender } from "./email.ts";
import { createLane } from "./lane.ts";
import type { SendOutcome } from "./outcome.ts";
import { createWebhookSender } from "./webhook.ts";

export type NotifyConfig = Pick<
  Config,
  | "NOTIFY_ATTEMPTS"
  | "NOTIFY_BACKOFF_MS"
  | "NOTIFY_BACKOFF_CAP_MS"
  | "NOTIFY_CONCURRENCY"
  | "WEBHOOK_TIMEOUT_MS"
  | "WEBHOOK_ALLOW_PRIVATE"
  | "SMTP_URL"
  | "SMTP_FROM"
  | "FLEET_TZ"
>;

export interface NotifyWorkerDeps {
  config: NotifyConfig;
  pool: pg.Pool;
  /** lane commands and counters */
  redis: Redis;
  /** BullMQ's own connection (it blocks on it) */
  connection: Redis;
  log: Logger;
  /** BullMQ key prefix; tests isolate themselves with their own */
  prefix?: string;
}

/** The delay after failed attempt `attempt` (1-based): NOTIFY_BACKOFF_MS doubling, capped. */
export function notifyBackoff(attempt: number, baseMs: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * The consumer of the `notifications` queue, in the worker process beside the locations
 * pipeline (it shares nothing with it but the process). A job drains one (channel, vehicle) lane
 * in order (core/notifications.ts); a failed head is retried in place, the job moved to delayed for
 * its backoff while it keeps the lane, and after NOTIFY_ATTEMPTS it is logged `dead` and the lane
 * moves on.
 */
export function createNotifyWorker(deps: NotifyWorkerDeps) {
  const { config, pool, redis, log } = deps;
  const prefix = deps.prefix ?? "bull";
  const webhook = createWebhookSender({
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
  });
  const mail = createMailSender({
    smtpUrl: config.SMTP_URL,
    from: config.SMTP_FROM,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    timeZone: config.FLEET_TZ,
  });
  /** the name people know the vehicle by, for the mail (the webhook body keeps the alert as it is) */
  const vehicleName = async (message: LaneEntry["message"]): Promise<string | null> => {
    if (message.type !== "alert") return null;
    const r = await pool.query<{ name: string | null }>("SELECT name FROM vehicles WHERE id = $1", [
      message.vehicleId,
    ]);
    return r.rows[0]?.name ?? null;
  };
  // an attempt's own time and a margin, refreshed before each: the lane stays owned while it runs
  const holdMs = config.WEBHOOK_TIMEOUT_MS + 60_000;
  let closing = false;

  const send = async (channel: NotificationChannel, entry: LaneEntry): Promise<SendOutcome> => {
    // "send test" goes to a disabled channel too: it is how one checks it before enabling it
    if (!channel.enabled && entry.phase !== "test")
      return { ok: false, latencyMs: 0, error: "channel disabled", final: true };
    if (channel.kind === "email")
      return mail.send(channel.config.to ?? [], entry.message, await vehicleName(entry.message));
    return webhook.send(
      { url: channel.config.url ?? "", secret: channel.secret ?? "" },
      entry.deliveryId,
      entry.message,
    );
  };

  async function drain(job: Job<DrainJob>, token?: string): Promise<string> {
    const lane = createLane(redis, prefix, job.data.channelId, job.data.lane, job.id ?? "");
    const later = async (delayMs: number) => {
      // keeps the lane through the wait: no later message may overtake the one retried
      await lane.acquire(delayMs + holdMs);
      await job.moveToDelayed(Date.now() + delayMs, token);
      throw new DelayedError();
    };
    for (;;) {
      if (!(await lane.acquire(holdMs))) return "lane drained by another job";
      // closing: handed back as delayed, so the next worker goes on with this lane
      if (closing) return later(0);
      const head = await lane.head();
      if (head === null) {
        if (await lane.release()) return "drained";
        continue;
      }
      const entry = JSON.parse(head) as LaneEntry;
      const channel = await getChannel(pool, entry.channelId);
      if (!channel) {
        // deleted: its messages go, and its log went with it
        await lane.pop(head, entry.deliveryId);
        continue;
      }
      const attempt = await lane.countAttempt(entry.deliveryId);
      const outcome = await send(channel, entry);
      const status: DeliveryStatus = outcome.ok
        ? "ok"
        : outcome.final || attempt >= config.NOTIFY_ATTEMPTS
          ? "dead"
          : "failed";
      await logAttempt(pool, entry, attempt, outcome, status);
      await redis.hincrby(redisKeys.metrics, labelledField("notify_deliveries", status), 1).catch(() => {});
      if (status === "failed") {
        log.info(
          { deliveryId: entry.deliveryId, channelId: channel.id, attempt, err: outcome.error },
          "notification failed; will retry",
        );
        return later(notifyBackoff(attempt, config.NOTIFY_BACKOFF_MS, config.NOTIFY_BACKOFF_CAP_MS));
      }
      if (status === "dead")
        log.warn(
          { deliveryId: entry.deliveryId, channelId: channel.id, attempt, err: outcome.error },
          outcome.final
            ? "notification dead: retrying cannot help"
            : "notification dead after its last attempt",
        );
      if (!(await lane.pop(head, entry.deliveryId))) return "lane lost";
    }
  }

  const worker = new Worker<DrainJob, string>(NOTIFICATIONS_QUEUE, drain, {
    connection: deps.connection,
    prefix,
    concurrency: config.NOTIFY_CONCURRENCY,
    maxStalledCount: 10,
    settings: { backoffStrategy: (attemptsMade: number) => cappedBackoff(attemptsMade) },
  });
  worker.on("failed", (job, err) =>
    log.warn(
      { jobId: job?.id, attempt: job?.attemptsMade, err: err.message },
      "notification job failed; will retry",
    ),
  );
  worker.on("error", (err) => log.error({ err }, "notifications worker error"));

  return {
    worker,
    async close() {
      closing = true;
      await worker.close();
      webhook.close();
      mail.close();
    },
  };
}

export type NotifyWorker = ReturnType<typeof createNotifyWorker>;
