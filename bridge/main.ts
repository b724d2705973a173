import { hostname } from "node:os";
import { bridgeConfigSchema, loadConfigOrExit } from "../core/config.ts";
import { subscribeControl } from "../core/control.ts";
import { createPool } from "../core/db.ts";
import { startHeartbeat } from "../core/heartbeat.ts";
import { createLogger } from "../core/logger.ts";
import { counterField } from "../core/metrics-catalogue.ts";
import { handleProcessSignals } from "../core/process.ts";
import { createLocationQueues } from "../core/queues.ts";
import { createRedis, redisKeys } from "../core/redis.ts";
import { createBridge } from "./bridge.ts";
import { connectExternalBroker } from "./external-client.ts";
import { createImeiResolver } from "./imei-resolver.ts";

/**
 * bridge alone (external-broker mode): reads every ingest topic from an existing MQTT broker
 * through MQTT 5 shared subscriptions and feeds the same bridge as the embedded broker.
 * Run as many replicas as needed, each with a BRIDGE_ID of its own that survives restarts.
 */
const config = loadConfigOrExit(bridgeConfigSchema);
const log = createLogger("bridge", config.LOG_LEVEL);
const bridgeId = config.BRIDGE_ID ?? hostname().replace(/[^A-Za-z0-9_.-]/g, "-");
if (!config.BRIDGE_ID)
  log.warn({ bridgeId }, "BRIDGE_ID unset: using the host name, which must then survive restarts");
const redis = createRedis(config.REDIS_URL);
// only for Teltonika's `{imei}/data`: which vehicle has that IMEI
const pool = createPool(config.DATABASE_URL, 2);
const queue = createLocationQueues(createRedis(config.REDIS_URL), config.QUEUE_PARTITIONS);
// unheard, BullMQ prints every refused reconnect while Redis is down; the batcher reports the outage
queue.onError((err, name) => log.debug({ err: err.message, queue: name }, "queue connection error"));
const bridge = createBridge({ config, queue, redis, log });
const imeis = createImeiResolver(pool);
// a deactivated, deleted or re-IMEI'd vehicle's `{imei}/data` is refused at once, not after the cache's TTL
const unsubscribeControl = await subscribeControl(createRedis(config.REDIS_URL), log, (msg) => {
  if (msg.type === "revoke") imeis.forgetVehicle(msg.vehicleId);
});
const external = connectExternalBroker({
  url: config.EXTERNAL_MQTT_URL,
  bridgeId,
  connections: config.BRIDGE_CONNECTIONS,
  username: config.EXTERNAL_MQTT_USERNAME,
  password: config.EXTERNAL_MQTT_PASSWORD,
  sessionExpiryS: config.BRIDGE_SESSION_EXPIRY_S,
  keepaliveS: config.KEEPALIVE_S,
  ingest: (msg) => bridge.ingest(msg),
  resolveImei: imeis,
  onUnroutable: () => {
    redis.hincrby(redisKeys.metrics, counterField("bridge_unroutable"), 1).catch(() => {});
  },
  flush: () => bridge.flush(),
  closeBridge: () => bridge.close(),
  log,
});

// /health counts the live ingest nodes by their heartbeats; in external-broker mode the bridges are they
const heartbeat = startHeartbeat({
  redis,
  node: `bridge-${bridgeId}`,
  log,
  content: () => ({ bridge: bridgeId, inflight: external.inflight }),
});

handleProcessSignals(log, async () => {
  heartbeat.stop();
  await unsubscribeControl();
  await external.close();
  await heartbeat.remove();
  await queue.close();
  await pool.end();
  redis.disconnect();
});
// a refused shared subscription cannot be retried into working: stop with the reason
await external.subscribed.catch((err: unknown) => {
  log.fatal({ err }, "external broker refused the ingest subscriptions");
  process.exit(1);
});
