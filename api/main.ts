import { Queue } from "bullmq";
import { createBridge } from "../bridge/bridge.ts";
import { apiConfigSchema, loadConfigOrExit } from "../core/config.ts";
import { createLogger } from "../core/logger.ts";
import { NotificationQueue } from "../core/notifications.ts";
import { handleProcessSignals } from "../core/process.ts";
import { createLocationQueues, MAINTENANCE_QUEUE } from "../core/queues.ts";
import { createRedis } from "../core/redis.ts";
import { ensureAdminToken } from "./admin-token.ts";
import { buildApp } from "./app.ts";
import { createApiPool } from "./db-pool.ts";
import { listenOsmAnd } from "./osmand-listener.ts";

/**
 * api: REST, WebSocket, health and metrics over HTTP, and HTTP ingest through its own bridge
 * (also the OsmAnd listener's, on OSMAND_PORT).
 */
const config = loadConfigOrExit(apiConfigSchema);
const log = createLogger("api", config.LOG_LEVEL);
const pool = createApiPool(config, 10);
// commands must fail fast here (a health check, a request), not wait for Redis to come back
const redis = createRedis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
const subscriber = createRedis(config.REDIS_URL);
// the bridge's queue and live-state connection wait for Redis instead (held HTTP ingest requests,
// like held PUBACKs, are answered 503 at the hold cap)
const bridgeRedis = createRedis(config.REDIS_URL);
const queue = createLocationQueues(createRedis(config.REDIS_URL), config.QUEUE_PARTITIONS);
const maintenance = new Queue(MAINTENANCE_QUEUE, { connection: createRedis(config.REDIS_URL) });
const notifications = new NotificationQueue(createRedis(config.REDIS_URL));
const bridge = createBridge({ config, queue, redis: bridgeRedis, log: log.child({ module: "bridge" }) });

const admin = await ensureAdminToken(pool, { adminToken: config.ADMIN_TOKEN, dataDir: config.DATA_DIR });
if (admin.source === "generated") {
  // the path, never the token: stdout is the container's log, readable by whoever reads logs
  log.warn({ file: admin.file }, "generated the first admin API token into this file (mode 0600)");
  process.stdout.write(
    `\n  admin token: in ${admin.file} (mode 0600; read it there)\n  use: Authorization: Bearer <token>, or log in with {"token": "<token>"}\n\n`,
  );
} else if (admin.revoked) {
  log.warn(
    { source: admin.source },
    "the configured admin token was revoked and stays refused: set a new ADMIN_TOKEN (or remove the token file)",
  );
}

const app = await buildApp({
  config,
  pool,
  redis,
  subscriber,
  queue,
  notifications,
  boardQueues: [maintenance, notifications.queue],
  bridge,
  log,
});
await app.listen({ port: config.HTTP_PORT, host: config.HTTP_HOST });
// Traccar Client (OsmAnd protocol) on a port of its own, through this process's bridge
const osmand =
  config.OSMAND_PORT === undefined
    ? undefined
    : await listenOsmAnd({
        port: config.OSMAND_PORT,
        host: config.HTTP_HOST,
        pool,
        bridge,
        redis,
        subscriber,
        config,
        log: log.child({ listener: "osmand" }),
      });

handleProcessSignals(log, async () => {
  await Promise.all([app.close(), osmand?.close()]);
  await bridge.close();
  await Promise.all([queue.close(), maintenance.close(), notifications.close()]);
  await pool.end();
  for (const r of [redis, subscriber, bridgeRedis]) r.disconnect();
});
