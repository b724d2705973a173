import type pg from "pg";
import { hashDeviceSecret, newDeviceKey } from "../../core/credentials.ts";
import type { Redis } from "../../core/redis.ts";
import {
  type BenchServices,
  benchDbUrl,
  type Device,
  rssOf,
  type Sut,
  spawnReady,
  startPipeline,
  tsx,
} from "./suts.ts";

// The pipeline fed by the other device protocols (Codec 8E over TCP, OsmAnd over HTTP).

/** Gives the bench's devices an IMEI and a device key each (one UPDATE … FROM unnest). */
export async function registerDeviceKeys(pool: pg.Pool, devices: Device[]): Promise<Device[]> {
  const out = devices.map((d, i) => ({
    ...d,
    imei: `35${String(i + 1).padStart(13, "0")}`,
    deviceKey: newDeviceKey(),
  }));
  await pool.query(
    `UPDATE vehicles v SET imei = u.imei, device_key_hash = u.hash
     FROM unnest($1::text[], $2::text[], $3::bytea[]) AS u(id, imei, hash) WHERE v.id = u.id`,
    [out.map((d) => d.id), out.map((d) => d.imei), out.map((d) => hashDeviceSecret(d.deviceKey))],
  );
  return out;
}

/**
 * The product with the other device protocols on: Codec 8E over TCP (TELTONIKA_TCP_PORT on the
 * broker) or OsmAnd over HTTP (OSMAND_PORT on an API process, the one that hosts it), with the
 * worker storing what they queue. Its devices are the pipeline's, with IMEIs and device keys.
 */
export async function startDevicePipeline(
  svc: BenchServices,
  devices: number,
  port: number,
  protocol: "teltonika-tcp" | "osmand",
  /** extra node flags for broker, worker and the API, e.g. ["--cpu-prof"] to profile them */
  nodeArgs: string[] = [],
): Promise<Sut & { redis: Redis; pool: pg.Pool }> {
  const listenPort = port + 5;
  const pipe = await startPipeline(
    svc,
    devices,
    port,
    protocol === "teltonika-tcp" ? { TELTONIKA_TCP_PORT: String(listenPort) } : {},
    nodeArgs,
  );
  const list = await registerDeviceKeys(pipe.pool, pipe.devices);
  const api =
    protocol === "osmand"
      ? await spawnReady(
          process.execPath,
          [...nodeArgs, ...tsx("api/main.ts")],
          {
            ...process.env,
            DATABASE_URL: benchDbUrl(svc),
            REDIS_URL: svc.redisUrl,
            HTTP_HOST: "127.0.0.1",
            HTTP_PORT: String(port + 6),
            OSMAND_PORT: String(listenPort),
            ADMIN_TOKEN: "bench-admin-token-not-for-production",
            // the devices stand in for a fleet: no per-vehicle budget gets in the way of the ladder
            HTTP_INGEST_RATE_LIMIT: "1000000000",
            LOG_LEVEL: "info",
          },
          /osmand listening/,
        )
      : undefined;
  const groups = pipe.cpuGroups();
  return {
    ...pipe,
    name: protocol === "osmand" ? "osmand-http" : "teltonika-tcp",
    protocol,
    urls: [protocol === "osmand" ? `http://127.0.0.1:${listenPort}/` : `tcp://127.0.0.1:${listenPort}`],
    devices: list,
    rss: () => pipe.rss() + rssOf(api?.child.pid),
    pids: () => [...pipe.pids(), ...(api ? [api.child.pid as number] : [])],
    cpuGroups: () => ({ ...groups, ...(api ? { api: () => [api.child.pid as number] } : {}) }),
    async stop() {
      await api?.stop();
      await pipe.stop();
    },
  };
}
