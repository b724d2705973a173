import type pg from "pg";
import { type App, buildApp } from "../../api/app.ts";
import { createApiPool } from "../../api/db-pool.ts";
import { type Bridge, createBridge } from "../../bridge/bridge.ts";
import { addToken } from "../../core/api-tokens.ts";
import { type Config, loadConfig } from "../../core/config.ts";
import { createLogger, type Logger } from "../../core/logger.ts";
import { NotificationQueue } from "../../core/notifications.ts";
import { createLocationQueues, type LocationQueues } from "../../core/queues.ts";
import { createRedis, type Redis } from "../../core/redis.ts";
import type { TestPlatform } from "../support/platform.ts";
import { createTestDatabase, createTestRedis } from "../support/services.ts";

export interface ApiHarness {
  app: App;
  config: Config;
  pool: pg.Pool;
  /** a plain connection to the app's Redis (for seeding and inspecting) */
  redis: Redis;
  redisUrl: string;
  queue: LocationQueues;
  /** the notifications queue the app's "send test" adds to */
  notifications: NotificationQueue;
  bridge: Pick<Bridge, "ingest" | "flush">;
  adminToken: string;
  viewerToken: string;
  /** Authorization header for a token */
  bearer(token: string): { authorization: string };
  /** listens on a free loopback port; returns "127.0.0.1:<port>" */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  /** reuse this platform's database, Redis and bridge (broker, worker) instead of fresh ones */
  platform?: TestPlatform;
  /** the app's Redis (default: a logical db of the shared test Redis) */
  redisUrl?: string;
  /** live WebSocket flush interval; 0 = tests call app.hub.flush() */
  liveFlushMs?: number;
  liveChannels?: { live: string; events: string };
  log?: Logger;
}

/** buildApp with real dependencies: its own database and Redis db (or a platform's), admin and viewer tokens. */
export async function startApi(opts: HarnessOptions = {}): Promise<ApiHarness> {
  const p = opts.platform;
  const db = p ? undefined : await createTestDatabase();
  const databaseUrl = p?.config.DATABASE_URL ?? (db?.url as string);
  const redisUrl = p?.config.REDIS_URL ?? opts.redisUrl ?? (await createTestRedis()).url;
  const config = loadConfig({ ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, ...opts.env });
  const log = opts.log ?? createLogger("api-test", config.LOG_LEVEL);
  const pool = p?.pool ?? createApiPool(config, 8);
  const conns: Redis[] = [];
  const conn = (o = {}) => {
    const r = createRedis(redisUrl, o);
    conns.push(r);
    return r;
  };
  const redis = conn({ maxRetriesPerRequest: 1 });
  const queue = createLocationQueues(conn(), config.QUEUE_PARTITIONS);
  const notifications = new NotificationQueue(conn());
  const ownBridge = p ? undefined : createBridge({ config, queue, redis: conn(), log });
  const bridge = p?.bridge ?? (ownBridge as Bridge);
  const app = await buildApp({
    config,
    pool,
    redis,
    subscriber: conn(),
    queue,
    notifications,
    bridge,
    log,
    liveFlushMs: opts.liveFlushMs ?? 100,
    ...(opts.liveChannels ? { liveChannels: opts.liveChannels } : {}),
  });
  await app.ready();
  const admin = await addToken(pool, { name: "test-admin", role: "admin" });
  const viewer = await addToken(pool, { name: "test-viewer", role: "viewer" });
  return {
    app,
    config,
    pool,
    redis: conn(),
    redisUrl,
    queue,
    notifications,
    bridge,
    adminToken: admin.token,
    viewerToken: viewer.token,
    bearer: (token) => ({ authorization: `Bearer ${token}` }),
    async listen() {
      await app.listen({ port: 0, host: "127.0.0.1" });
      const addr = app.server.address();
      return `127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
    },
    async close() {
      await app.close();
      await ownBridge?.close();
      await queue.close();
      await notifications.close();
      for (const r of conns) r.disconnect();
      if (!p) await pool.end();
      await db?.drop();
    },
  };
}
