import { afterEach, describe, expect, it } from "vitest";
import type { DeviceCredentials } from "../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "./support/platform.ts";
import { spawnEntry } from "./support/processes.ts";
import { type RedisServer, startRedis } from "./support/redis-server.ts";
import { sleep, waitFor } from "./support/wait.ts";

// These tests stop or pause services of their own; they run one after another (one file).
const now = Date.now();
const fix = (i: number, lat = 25.2) =>
  JSON.stringify({ lat, lng: 55.27 + i * 1e-5, recordedAt: now - 600_000 + i * 10 });

describe("durability: a PUBACK means the fix is queued", () => {
  let redis: RedisServer | undefined;
  let p: TestPlatform | undefined;
  afterEach(async () => {
    redis?.resume();
    await p?.close();
    await redis?.cleanup();
    p = undefined;
    redis = undefined;
  });

  it("holds PUBACKs while the queue's Redis is paused and releases them on resume, losing nothing", async () => {
    redis = await startRedis();
    p = await startPlatform({ redisUrl: redis.url, env: { HOLD_CAP_MS: "60000" } });
    const [creds, other] = (await p.register("pause", 2)) as [DeviceCredentials, DeviceCredentials];
    const { id } = creds;
    const client = await p.connect(creds);
    const marker = await p.connect(other);
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => client.publishAsync(`fleet/${id}/location`, fix(i), { qos: 1 })),
    );

    redis.pause();
    let acked = 0;
    const held = Array.from({ length: 500 }, (_, i) =>
      client.publishAsync(`fleet/${id}/location`, fix(100 + i), { qos: 1 }).then(() => acked++),
    );
    // not all 500: Aedes reads a socket's next chunk only after the current one's packets have
    // called back, so what is held is the first chunk's share, and the rest waits unread
    await waitFor(
      async () => p?.bridge.held ?? 0,
      (n) => n > 0,
      { what: "messages held by the bridge" },
    );
    // every PUBACK is due by now unless it is held: the broker answers a later message from
    // another device, one the bridge ignores (an OwnTracks lwt: nothing to queue, no Redis)
    await marker.publishAsync(`owntracks/${other.id}/phone`, JSON.stringify({ _type: "lwt" }), { qos: 1 });
    expect(acked).toBe(0);

    redis.resume();
    await Promise.all(held);
    expect(acked).toBe(500);
    await waitFor(
      () => (p as TestPlatform).rowCount(),
      (n) => n >= 600,
      { what: "600 rows" },
    );
    expect(await p.rowCount()).toBe(600);
  });

  it("closes a connection held past HOLD_CAP_MS without PUBACK; the device resends and nothing is lost", async () => {
    redis = await startRedis();
    p = await startPlatform({ redisUrl: redis.url, env: { HOLD_CAP_MS: "1500" } });
    const [creds] = await p.register("holdcap", 1);
    const { id } = creds as DeviceCredentials;
    const client = await p.connect(creds as DeviceCredentials, {
      clientId: `${id}:holdcap`,
      clean: false,
      reconnectPeriod: 300,
    });
    let closes = 0;
    client.on("close", () => closes++);

    redis.pause();
    const pubs = Array.from({ length: 50 }, (_, i) =>
      client.publishAsync(`fleet/${id}/location`, fix(i), { qos: 1 }),
    );
    await waitFor(
      async () => closes,
      (n) => n > 0,
      { what: "the broker to close the held connection" },
    );
    redis.resume();
    await Promise.all(pubs);
    await waitFor(
      () => (p as TestPlatform).rowCount(),
      (n) => n >= 50,
      { what: "50 rows" },
    );
    expect(await p.rowCount()).toBe(50);
  });

  it("stores all 20,000 fixes exactly once when the worker is SIGKILLed mid-stream and restarted", async () => {
    p = await startPlatform({ worker: false });
    const platform = p;
    const creds = await platform.register("kill", 20);
    const clients = await Promise.all(creds.map((c) => platform.connect(c)));
    let worker = spawnEntry("worker/main.ts", platform.env);

    const publishing = (async () => {
      for (let round = 0; round < 50; round++) {
        // 20 vehicles x 20 fixes per round, paced so the kill lands mid-stream
        await Promise.all(
          clients.map((c, v) =>
            Promise.all(
              Array.from({ length: 20 }, (_, k) =>
                c.publishAsync(`fleet/${creds[v]?.id}/location`, fix(round * 20 + k, 25 + v * 0.01), {
                  qos: 1,
                }),
              ),
            ),
          ),
        );
        await sleep(40);
      }
    })();

    const atKill = await waitFor(
      () => platform.rowCount(),
      (n) => n >= 4000,
      { what: "4,000 rows before the kill" },
    );
    worker.kill("SIGKILL");
    await worker.exited;
    expect(atKill).toBeLessThan(20_000);
    worker = spawnEntry("worker/main.ts", platform.env);
    try {
      await publishing;
      await waitFor(
        () => platform.rowCount(),
        (n) => n >= 20_000,
        { timeoutMs: 90_000, what: "20,000 rows" },
      );
      const r = await platform.pool.query<{ rows: number; keys: number }>(
        "SELECT count(*)::int AS rows, count(DISTINCT (vehicle_id, recorded_at))::int AS keys FROM vehicle_locations",
      );
      expect(r.rows[0]).toEqual({ rows: 20_000, keys: 20_000 });
    } finally {
      worker.kill("SIGTERM");
      await worker.exited;
    }
  });
});
