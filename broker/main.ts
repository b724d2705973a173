import { createBridge } from "../bridge/bridge.ts";
import { brokerConfigSchema, loadConfigOrExit } from "../core/config.ts";
import { createPool } from "../core/db.ts";
import { createLogger } from "../core/logger.ts";
import { handleProcessSignals } from "../core/process.ts";
import { createLocationQueues } from "../core/queues.ts";
import { createRedis } from "../core/redis.ts";
import { createRedisCluster } from "./cluster-redis.ts";
import { createBroker } from "./create-broker.ts";

/** broker + bridge: the embedded Aedes broker feeding the BullMQ pipeline. */
const config = loadConfigOrExit(brokerConfigSchema);
const log = createLogger("broker", config.LOG_LEVEL);
const pool = createPool(config.DATABASE_URL, 4);
// credential lookups on a pool of their own: command answers and deliveries cannot starve CONNECTs
const credentialPool = createPool(config.DATABASE_URL, 2);
const redis = createRedis(config.REDIS_URL);
const subscriber = createRedis(config.REDIS_URL);
const queue = createLocationQueues(createRedis(config.REDIS_URL), config.QUEUE_PARTITIONS);
// unheard, BullMQ prints every refused reconnect while Redis is down; the batcher reports the outage
queue.onError((err, name) => log.debug({ err: err.message, queue: name }, "queue connection error"));
const bridge = createBridge({ config, queue, redis, log });
// BROKER_CLUSTER=redis: this node is one of several behind a TCP load balancer
const cluster = config.BROKER_CLUSTER === "redis" ? createRedisCluster(config.REDIS_URL, log) : undefined;
const broker = await createBroker({
  config,
  pool,
  credentialPool,
  bridge,
  redis,
  subscriber,
  log,
  mq: cluster?.mq,
  persistence: cluster?.persistence,
});

handleProcessSignals(log, async () => {
  await broker.close();
  await cluster?.close();
  await queue.close();
  await pool.end();
  await credentialPool.end();
  redis.disconnect();
  subscriber.disconnect();
});
