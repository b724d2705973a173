import { loadConfigOrExit } from "../core/config.ts";
import { createPool } from "../core/db.ts";
import { createLogger } from "../core/logger.ts";
import { handleProcessSignals } from "../core/process.ts";
import { createLocationsQueue } from "../core/queues.ts";
import { createRedis } from "../core/redis.ts";
import { buildApp } from "./app.ts";

/** api: REST, WebSocket, health and metrics over HTTP. */
const config = loadConfigOrExit();
const log = createLogger("api", config.LOG_LEVEL);
const pool = createPool(config.DATABASE_URL, 10);
// commands must fail fast here (a health check, a request), not wait for Redis to come back
const redis = createRedis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
const queue = createLocationsQueue(createRedis(config.REDIS_URL));
const app = await buildApp({ pool, redis, queue, log });
await app.listen({ port: config.HTTP_PORT, host: config.HTTP_HOST });

handleProcessSignals(log, async () => {
  await app.close();
  await queue.close();
  await pool.end();
  redis.disconnect();
});
