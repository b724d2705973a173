import type pg from "pg";
import type { AlertMessage } from "../../../core/alerts.ts";
import { loadConfig } from "../../../core/config.ts";
import { createPool } from "../../../core/db.ts";
import { createLogger } from "../../../core/logger.ts";
import { generateWebhookSecret } from "../../../core/notification-channels.ts";
import { createAlertNotifier, NotificationQueue } from "../../../core/notifications.ts";
import { createRedis, type Redis } from "../../../core/redis.ts";
import { createNotifyWorker } from "../../../worker/notify/create-notify-worker.ts";
import { createTestDatabase, createTestRedis } from "../../support/services.ts";

export interface DeliveryRow {
  deliveryId: string;
  alertId: number | null;
  phase: string;
  attempt: number;
  status: "ok" | "failed" | "dead";
  httpStatus: number | null;
  error: string | null;
  payload: unknown;
}

/**
 * The notifications path against real PostgreSQL and Redis: the queue the worker's AlertNotifier
 * adds to, and the consumer of worker/notify/, with small backoffs (NOTIFY_* from `env`).
 */
export async function startNotifications(env: Record<string, string> = {}) {
  const db = await createTestDatabase();
  const lease = await createTestRedis();
  const configWith = (overrides: Record<string, string> = {}) =>
    loadConfig({
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_URL: lease.url,
      NOTIFY_BACKOFF_MS: "20",
      NOTIFY_BACKOFF_CAP_MS: "100",
      NOTIFY_ATTEMPTS: "50",
      WEBHOOK_ALLOW_PRIVATE: "true",
      WEBHOOK_TIMEOUT_MS: "5000",
      ...env,
      ...overrides,
    });
  const config = configWith();
  const log = createLogger("notify-test", config.LOG_LEVEL);
  const pool = createPool(config.DATABASE_URL, 6);
  const conns: Redis[] = [];
  const conn = () => {
    const r = createRedis(lease.url);
    conns.push(r);
    return r;
  };
  const queue = new NotificationQueue(conn());
  const notify = createAlertNotifier({ queue, pool });
  const startWorker = (overrides: Record<string, string> = {}) =>
    createNotifyWorker({
      config: configWith(overrides),
      pool,
      redis: conn(),
      connection: conn(),
      log,
    });
  const workers: ReturnType<typeof startWorker>[] = [];

  return {
    config,
    pool: pool as pg.Pool,
    redis: conn(),
    queue,
    notify,
    /** a consumer; several may run, like worker replicas */
    startWorker(overrides: Record<string, string> = {}) {
      const w = startWorker(overrides);
      workers.push(w);
      return w;
    },
    async webhookChannel(
      url: string,
      secret = generateWebhookSecret(),
      enabled = true,
    ): Promise<{ id: number; secret: string }> {
      const r = await pool.query<{ id: string }>(
        "INSERT INTO notification_channels (name, kind, config, secret, enabled) VALUES ('hook', 'webhook', $1, $2, $3) RETURNING id",
        [JSON.stringify({ url }), secret, enabled],
      );
      return { id: Number(r.rows[0]?.id), secret };
    },
    async emailChannel(to: string[]): Promise<number> {
      const r = await pool.query<{ id: string }>(
        "INSERT INTO notification_channels (name, kind, config) VALUES ('mail', 'email', $1) RETURNING id",
        [JSON.stringify({ to })],
      );
      return Number(r.rows[0]?.id);
    },
    async deliveries(channelId: number): Promise<DeliveryRow[]> {
      const r = await pool.query<DeliveryRow>(
        `SELECT delivery_id AS "deliveryId", alert_id::float8 AS "alertId", phase, attempt, status,
                http_status AS "httpStatus", error, payload
         FROM notification_deliveries WHERE channel_id = $1 ORDER BY id`,
        [channelId],
      );
      return r.rows;
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await queue.close();
      for (const r of conns) r.disconnect();
      await pool.end();
      await db.drop();
      await lease.release();
    },
  };
}

export type NotifyHarness = Awaited<ReturnType<typeof startNotifications>>;

let nextId = 1;
/** An alert phase as the worker announces it. */
export function alert(vehicleId: string, phase: "start" | "end" = "start", id = nextId++): AlertMessage {
  return {
    type: "alert",
    id,
    phase,
    ruleId: 1,
    ruleName: "Speeding <80>",
    quiet: false,
    late: false,
    kind: "speeding",
    vehicleId,
    startedAt: "2026-03-01T10:00:00.000Z",
    endedAt: phase === "end" ? "2026-03-01T10:05:00.000Z" : null,
    peak: { speedKmh: 97 },
    lat: 25.2,
    lng: 55.3,
  };
}
