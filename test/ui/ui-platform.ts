import type { AddressInfo } from "node:net";
import { type App, buildApp } from "../../api/app.ts";
import { listenOsmAnd, type OsmAndListener } from "../../api/osmand-listener.ts";
import { createLogger } from "../../core/logger.ts";
import { createLocationQueues } from "../../core/queues.ts";
import { createRedis, type Redis } from "../../core/redis.ts";
import { addUser } from "../../core/users.ts";
import { buildUiIfStale } from "../../ui/build-if-stale.ts";
import { type PlatformOptions, startPlatform, type TestPlatform } from "../support/platform.ts";

export interface UiPlatform {
  platform: TestPlatform;
  app: App;
  baseUrl: string;
  admin: { username: string; password: string };
  close(): Promise<void>;
}

/**
 * The whole platform for a browser: broker, bridge and worker in this process (startPlatform)
 * plus the API with the built UI on an ephemeral 127.0.0.1 port, and an admin user. `osmand`: the
 * OsmAnd listener too (OSMAND_PORT), as api/main.ts starts it.
 */
export async function startUiPlatform(
  opts: PlatformOptions = {},
  ui: { osmand?: boolean } = {},
): Promise<UiPlatform> {
  buildUiIfStale((msg) => process.stderr.write(`${msg}\n`));
  const platform = await startPlatform(opts);
  const { config, pool } = platform;
  const log = createLogger("ui-test", config.LOG_LEVEL);
  const conns: Redis[] = [];
  const conn = (o = {}) => {
    const r = createRedis(config.REDIS_URL, o);
    conns.push(r);
    return r;
  };
  const queue = createLocationQueues(conn(), config.QUEUE_PARTITIONS);
  let osmand: OsmAndListener | undefined;
  if (ui.osmand)
    osmand = await listenOsmAnd({
      port: 0,
      host: "127.0.0.1",
      pool,
      bridge: platform.bridge,
      redis: conn(),
      // its own subscriber: the device-key cache listens for revocations on the control channel
      subscriber: conn(),
      config,
      log,
    });
  const app = await buildApp({
    // the ports the broker bound (0 in the config): what a new vehicle's connection settings show
    config: {
      ...config,
      MQTT_PORT: platform.broker.ports.mqtt,
      MQTT_WS_PORT: platform.broker.ports.ws,
      ...(osmand ? { OSMAND_PORT: osmand.port } : {}),
    },
    pool,
    redis: conn({ maxRetriesPerRequest: 1 }),
    subscriber: conn(),
    queue,
    bridge: platform.bridge,
    log,
    ...(platform.notifications ? { notifications: platform.notifications } : {}),
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const admin = { username: "ui-admin", password: "ui-admin-password" };
  await addUser(pool, { ...admin, role: "admin" });
  return {
    platform,
    app,
    baseUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    admin,
    async close() {
      await app.close();
      await osmand?.close();
      await queue.close();
      for (const r of conns) r.disconnect();
      await platform.close();
    },
  };
}
