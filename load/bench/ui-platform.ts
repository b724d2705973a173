import { execFileSync } from "node:child_process";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { type App, buildApp } from "../../api/app.ts";
import { createBridge } from "../../bridge/bridge.ts";
import { type BrokerHandle, createBroker } from "../../broker/create-broker.ts";
import { type Config, loadConfig } from "../../core/config.ts";
import { createPool } from "../../core/db.ts";
import { withLocalServices } from "../../core/local-services.ts";
import { createLogger } from "../../core/logger.ts";
import { migrate } from "../../core/migrate.ts";
import { createLocationQueues } from "../../core/queues.ts";
import { createRedis, type Redis } from "../../core/redis.ts";
import { buildUiIfStale } from "../../ui/build-if-stale.ts";
import { createWorker } from "../../worker/create-worker.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface UiBenchPlatform {
  config: Config;
  pool: pg.Pool;
  /** a plain connection to the platform's Redis */
  redis: Redis;
  broker: BrokerHandle;
  app: App;
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * The whole platform in this process for a browser run (`npm run bench:ui`, `npm run
 * screenshots`): private
 * PostgreSQL and Redis under .data/<name>-services (unless DATABASE_URL/REDIS_URL are set), a
 * database of its own, broker (MQTT on an ephemeral port), bridge, worker and the API with the
 * built UI on an ephemeral 127.0.0.1 port. `env` overrides the configuration.
 */
export async function startUiBenchPlatform(opts: {
  name: string;
  ports: { pg: string; redis: string };
  env?: Record<string, string>;
  /** connections of the one pool broker, worker and API share (default 8) */
  poolSize?: number;
  log: (m: string) => void;
}): Promise<UiBenchPlatform> {
  buildUiIfStale(opts.log);
  const servicesDir = `${root}.data/${opts.name}-services`;
  const ownServices = !process.env.DATABASE_URL || !process.env.REDIS_URL;
  const env = withLocalServices(process.env, [
    ...["--dir", servicesDir, "--pg-port", opts.ports.pg, "--redis-port", opts.ports.redis],
  ]);
  const dbName = `lt_${opts.name.replace(/\W/g, "_")}_${process.pid}`;
  const adminDb = new pg.Client({ connectionString: env.DATABASE_URL });
  await adminDb.connect();
  await adminDb.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(env.DATABASE_URL as string);
  dbUrl.pathname = `/${dbName}`;
  await migrate(dbUrl.toString());
  const config = loadConfig({
    ...env,
    DATABASE_URL: dbUrl.toString(),
    MQTT_PORT: "0",
    MQTT_WS_PORT: "0",
    MQTT_HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    ...opts.env,
  });
  const log = createLogger(opts.name, config.LOG_LEVEL);
  const pool = createPool(config.DATABASE_URL, opts.poolSize ?? 8);
  const conns: Redis[] = [];
  const conn = (o = {}) => {
    const r = createRedis(config.REDIS_URL, o);
    conns.push(r);
    return r;
  };
  const redis = conn();
  // a Redis of its own: start from empty live state
  if (ownServices) await redis.flushdb();
  const queue = createLocationQueues(conn(), config.QUEUE_PARTITIONS);
  const bridge = createBridge({ config, queue, redis, log });
  const broker = await createBroker({
    config,
    pool,
    credentialPool: pool,
    bridge,
    redis,
    subscriber: conn(),
    log,
  });
  const worker = createWorker({ config, pool, redis, connection: conn(), log });
  const app = await buildApp({
    config,
    pool,
    redis: conn({ maxRetriesPerRequest: 1 }),
    subscriber: conn(),
    queue,
    bridge,
    log,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    config,
    pool,
    redis,
    broker,
    app,
    baseUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    async close() {
      await app.close();
      await broker.close();
      await worker.close();
      await queue.close();
      for (const c of conns) c.disconnect();
      await pool.end();
      await adminDb.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await adminDb.end();
      if (ownServices)
        execFileSync("bash", [`${root}scripts/services`, "stop", "--dir", servicesDir], { stdio: "inherit" });
    },
  };
}
