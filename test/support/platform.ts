import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type pg from "pg";
import { type Bridge, createBridge } from "../../bridge/bridge.ts";
import { createRedisCluster } from "../../broker/cluster-redis.ts";
import { type BrokerHandle, createBroker } from "../../broker/create-broker.ts";
import { type Config, loadConfig } from "../../core/config.ts";
import { createPool } from "../../core/db.ts";
import { createLogger } from "../../core/logger.ts";
import { createAlertNotifier, NotificationQueue } from "../../core/notifications.ts";
import { createLocationQueues, type LocationQueues } from "../../core/queues.ts";
import { createRedis, type Redis } from "../../core/redis.ts";
import { addVehicle, type DeviceCredentials } from "../../core/vehicles.ts";
import { createWorker, type LocationWorkers } from "../../worker/create-worker.ts";
import { createNotifyWorker, type NotifyWorker } from "../../worker/notify/create-notify-worker.ts";
import { clientIdOf } from "./client-id.ts";
import { createTestDatabase, createTestRedis } from "./services.ts";

export interface TestPlatform {
  config: Config;
  pool: pg.Pool;
  redis: Redis;
  /** the location queues the bridge adds to and the worker reads */
  queue: LocationQueues;
  bridge: Bridge;
  broker: BrokerHandle;
  worker: LocationWorkers | undefined;
  /** the notifications queue, with the worker's notifier and consumer on it (opts.notifications) */
  notifications: NotificationQueue | undefined;
  /** environment for child processes (worker/main.ts …) pointing at this platform's services */
  env: NodeJS.ProcessEnv;
  mqttUrl: string;
  /** a Redis connection of its own on the platform's Redis (e.g. a subscriber), closed with it */
  connection(): Redis;
  register(prefix: string, n: number): Promise<DeviceCredentials[]>;
  connect(creds: { username: string; password: string }, opts?: IClientOptions): Promise<MqttClient>;
  rowCount(): Promise<number>;
  close(): Promise<void>;
}

export interface PlatformOptions {
  /** environment overrides (BATCH_MS, HOLD_CAP_MS, …) */
  env?: Record<string, string>;
  /** run the worker in this process (default) or not at all (the test spawns worker/main.ts) */
  worker?: boolean;
  /** a Redis URL of the test's own (e.g. an instance it pauses) instead of a shared logical db */
  redisUrl?: string;
  /** connections of the pool the broker and worker share (default 8; broker/main.ts has 4) */
  poolSize?: number;
  /** the broker as one node of BROKER_CLUSTER=redis: routing and sessions (retained messages too) in Redis */
  cluster?: boolean;
  /** the worker hands alert phases to the notifications queue and a consumer delivers them, as worker/main.ts */
  notifications?: boolean;
}

/**
 * The ingest path in this process against real services: Aedes broker on ephemeral ports, the
 * bridge, and (optionally) the BullMQ worker, with a database and Redis db of the test's own.
 */
export async function startPlatform(opts: PlatformOptions = {}): Promise<TestPlatform> {
  const db = await createTestDatabase();
  const lease = opts.redisUrl ? undefined : await createTestRedis();
  const redisUrl = opts.redisUrl ?? (lease?.url as string);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    MQTT_PORT: "0",
    MQTT_WS_PORT: "0",
    MQTT_HOST: "127.0.0.1",
    ...opts.env,
  };
  const config = loadConfig(env);
  const log = createLogger("test", config.LOG_LEVEL);
  const pool = createPool(config.DATABASE_URL, opts.poolSize ?? 8);
  // as broker/main.ts: credential lookups on a pool of their own
  const credentialPool = createPool(config.DATABASE_URL, 2);
  const redis = createRedis(redisUrl);
  const connections: Redis[] = [redis];
  const conn = () => {
    const r = createRedis(redisUrl);
    connections.push(r);
    return r;
  };
  const queue = createLocationQueues(conn(), config.QUEUE_PARTITIONS);
  const bridge = createBridge({ config, queue, redis, log });
  const cluster = opts.cluster ? createRedisCluster(redisUrl, log) : undefined;
  const broker = await createBroker({
    config,
    pool,
    credentialPool,
    bridge,
    redis,
    subscriber: conn(),
    log,
    mq: cluster?.mq,
    persistence: cluster?.persistence,
  });
  const notifications = opts.notifications ? new NotificationQueue(conn()) : undefined;
  const worker =
    opts.worker === false
      ? undefined
      : createWorker({
          config,
          pool,
          redis,
          connection: conn(),
          log,
          ...(notifications ? { notify: createAlertNotifier({ queue: notifications, pool }) } : {}),
        });
  await worker?.ready;
  const notifyWorker: NotifyWorker | undefined = notifications
    ? createNotifyWorker({ config, pool, redis: conn(), connection: conn(), log })
    : undefined;
  const clients: MqttClient[] = [];
  const mqttUrl = `mqtt://127.0.0.1:${broker.ports.mqtt}`;

  return {
    config,
    pool,
    redis,
    queue,
    bridge,
    broker,
    worker,
    notifications,
    env,
    mqttUrl,
    connection: conn,
    async register(prefix, n) {
      const out: DeviceCredentials[] = [];
      for (let i = 0; i < n; i++) out.push(await addVehicle(pool, { id: `${prefix}-${i}` }));
      return out;
    },
    async connect(creds, o = {}) {
      const c = await mqtt.connectAsync(mqttUrl, {
        username: creds.username,
        password: creds.password,
        // a client id names its account (core/client-id.ts)
        clientId: clientIdOf(creds.username),
        reconnectPeriod: 0,
        ...o,
      });
      clients.push(c);
      return c;
    },
    async rowCount() {
      const r = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM vehicle_locations");
      return r.rows[0]?.n ?? 0;
    },
    async close() {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
      await broker.close();
      await cluster?.close();
      await worker?.close();
      await notifyWorker?.close();
      await notifications?.close();
      await queue.close();
      for (const r of connections) r.disconnect();
      await pool.end();
      await credentialPool.end();
      await db.drop();
      await lease?.release();
    },
  };
}
