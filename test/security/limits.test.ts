import type { MqttClient } from "mqtt";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import type { DeviceCredentials } from "../../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { connectPacket, openRaw, type RawConnection, varint } from "./support/raw-mqtt.ts";

// Backpressure and limits of the broker (README "Limits"). Counts and bounds, never speeds: a
// lower bound on when the k-th PUBACK can arrive follows from the token bucket, whatever the machine.
const now = Date.now();
const fix = (i: number, lat = 25.2) =>
  JSON.stringify({ lat, lng: 55.27 + (i % 1000) * 1e-5, recordedAt: now - 3_000_000 + i });

function stored(p: TestPlatform, n: number, timeoutMs = 90_000) {
  return waitFor(
    () => p.rowCount(),
    (c) => c >= n,
    { timeoutMs, what: `${n} rows` },
  );
}

describe("broker limits", () => {
  let p: TestPlatform | undefined;
  let redis: RedisServer | undefined;
  let lock: pg.Client | undefined;
  const raws: RawConnection[] = [];
  afterEach(async () => {
    for (const r of raws.splice(0)) r.socket.destroy();
    await lock?.end().catch(() => {});
    lock = undefined;
    redis?.resume();
    await p?.close();
    await redis?.cleanup();
    p = undefined;
    redis = undefined;
  });

  it("delays the PUBACKs of a device publishing at 5x DEVICE_RATE_LIMIT, in order, and stores every fix", async () => {
    const rate = 20;
    const burst = 20;
    p = await startPlatform({ env: { DEVICE_RATE_LIMIT: String(rate), DEVICE_RATE_BURST: String(burst) } });
    const [creds] = (await p.register("rate", 1)) as [DeviceCredentials];
    const client = await p.connect(creds);
    const n = 200;
    const acks: { i: number; at: number }[] = [];
    const t0 = performance.now();
    const pubs: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      // 100 messages/s: five times the limit
      pubs.push(
        client
          .publishAsync(`fleet/${creds.id}/location`, fix(i), { qos: 1 })
          .then(() => acks.push({ i, at: performance.now() - t0 })),
      );
      await sleep(10);
    }
    await Promise.all(pubs);

    expect(acks.map((a) => a.i)).toEqual(Array.from({ length: n }, (_, i) => i));
    // the k-th PUBACK (1-based) cannot come before (k - burst) / rate seconds (timer slack 20 ms)
    for (const [k0, a] of acks.entries()) {
      const k = k0 + 1;
      expect(a.at).toBeGreaterThanOrEqual(((k - burst) / rate) * 1000 - 20);
    }
    const perSecond = new Map<number, number>();
    for (const a of acks)
      perSecond.set(Math.floor(a.at / 1000), (perSecond.get(Math.floor(a.at / 1000)) ?? 0) + 1);
    console.log(`rate limit ${rate}/s, burst ${burst}: PUBACKs per second`, Object.fromEntries(perSecond));
    expect(await stored(p, n)).toBe(n);
  });

  it("holds at most MQTT_MAX_HELD_PER_CONNECTION messages of a connection and stops reading its socket", async () => {
    redis = await startRedis();
    p = await startPlatform({
      redisUrl: redis.url,
      env: { MQTT_MAX_HELD_PER_CONNECTION: "20", HOLD_CAP_MS: "60000", BATCH_MS: "5" },
    });
    const platform = p;
    const [creds] = (await p.register("perconn", 1)) as [DeviceCredentials];
    const clientId = `${creds.id}:perconn`;
    const client = await p.connect(creds, { clientId });
    redis.pause();
    const n = 5000;
    const topic = `fleet/${creds.id}/location`;
    let bytesSent = 0;
    const pubs: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const payload = fix(i);
      bytesSent += 2 + 2 + topic.length + 2 + payload.length;
      pubs.push(client.publishAsync(topic, payload, { qos: 1 }));
    }
    await waitFor(
      async () => platform.broker.limits.stats().held,
      (h) => h >= 20,
      { what: "20 messages held" },
    );
    await sleep(1000);
    const stats = platform.broker.limits.stats();
    const conn = (
      platform.broker.aedes as unknown as { clients: Record<string, { conn: { bytesRead: number } }> }
    ).clients[clientId]?.conn;
    console.log(
      "held",
      stats,
      "bridge.held",
      platform.bridge.held,
      "bytes read",
      conn?.bytesRead,
      "of",
      bytesSent,
    );
    expect(stats.held).toBe(20);
    expect(platform.bridge.held).toBeLessThanOrEqual(20);
    // the rest of the socket's current chunk waits; everything after it stays unread in the kernel
    expect(conn?.bytesRead ?? 0).toBeLessThan(bytesSent / 4);
    expect(stats.waiting).toBeLessThan(n / 4);

    redis.resume();
    await Promise.all(pubs);
    expect(await stored(p, n)).toBe(n);
  });

  it("holds at most MQTT_MAX_HELD messages over all connections; the rest wait unread, then all are stored", async () => {
    redis = await startRedis();
    p = await startPlatform({ redisUrl: redis.url, env: { MQTT_MAX_HELD: "50", HOLD_CAP_MS: "60000" } });
    const platform = p;
    const creds = await p.register("total", 5);
    const clients = await Promise.all(creds.map((c) => platform.connect(c)));
    redis.pause();
    const pubs = clients.flatMap((c, v) =>
      Array.from({ length: 400 }, (_, i) =>
        c.publishAsync(`fleet/${creds[v]?.id}/location`, fix(i, 25 + v * 0.01), { qos: 1 }),
      ),
    );
    let maxHeld = 0;
    let maxBridge = 0;
    const sampler = setInterval(() => {
      maxHeld = Math.max(maxHeld, platform.broker.limits.stats().held);
      maxBridge = Math.max(maxBridge, platform.bridge.held);
    }, 20);
    await waitFor(
      async () => platform.broker.limits.stats().held,
      (h) => h >= 50,
      { what: "50 messages held" },
    );
    await sleep(1000);
    expect(platform.broker.limits.stats().waiting).toBeGreaterThan(0);
    redis.resume();
    await Promise.all(pubs);
    clearInterval(sampler);
    expect(maxHeld).toBe(50);
    expect(maxBridge).toBeLessThanOrEqual(50);
    expect(await stored(p, 2000)).toBe(2000);
  });

  it("closes a connection whose messages waited for a slot past HOLD_CAP_MS; the device resends and nothing is lost", async () => {
    redis = await startRedis();
    p = await startPlatform({ redisUrl: redis.url, env: { MQTT_MAX_HELD: "5", HOLD_CAP_MS: "1500" } });
    const [creds] = (await p.register("waitcap", 1)) as [DeviceCredentials];
    const client: MqttClient = await p.connect(creds, {
      clientId: `${creds.id}:waitcap`,
      clean: false,
      reconnectPeriod: 300,
    });
    let closes = 0;
    client.on("close", () => closes++);
    redis.pause();
    const pubs = Array.from({ length: 50 }, (_, i) =>
      client.publishAsync(`fleet/${creds.id}/location`, fix(i), { qos: 1 }),
    );
    await waitFor(
      async () => closes,
      (c) => c > 0,
      { what: "the held connection to be closed" },
    );
    redis.resume();
    await Promise.all(pubs);
    expect(await stored(p, 50)).toBe(50);
  });

  it("rejects a payload above MAX_PAYLOAD_BYTES with E_TOO_LARGE and keeps the connection; closes one above MQTT_MAX_PACKET_BYTES without buffering it", async () => {
    p = await startPlatform({ env: { MQTT_MAX_PACKET_BYTES: String(256 * 1024) } });
    const platform = p;
    const [a, b] = (await p.register("size", 2)) as [DeviceCredentials, DeviceCredentials];
    const device = await p.connect(a);
    await device.publishAsync(`fleet/${a.id}/location`, `{"pad":"${"x".repeat(200 * 1024)}"}`, { qos: 1 });
    expect(device.connected).toBe(true);
    await waitFor(
      async () =>
        (
          await platform.pool.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM rejected_messages WHERE vehicle_id = $1 AND reason = 'E_TOO_LARGE'",
            [a.id],
          )
        ).rows[0]?.n ?? 0,
      (n) => n === 1,
      { what: "the E_TOO_LARGE reject" },
    );

    // a CONNECT declaring 100 MB, before any authentication: closed after the first chunk
    const raw = await openRaw(platform.broker.ports.mqtt);
    raws.push(raw);
    raw.socket.write(Buffer.concat([Buffer.from([0x10]), varint(100 * 1024 * 1024)]));
    raw.socket.write(Buffer.alloc(512 * 1024));
    await raw.closed;

    // a device's 300 KB publish: the connection is closed, nothing is stored
    const big = await p.connect(b);
    const gone = new Promise<void>((r) => big.once("close", () => r()));
    big.publish(`fleet/${b.id}/location`, `{"pad":"${"y".repeat(300 * 1024)}"}`, { qos: 1 });
    await gone;

    // the device and the broker carry on
    await device.publishAsync(`fleet/${a.id}/location`, fix(1), { qos: 1 });
    expect(await stored(p, 1)).toBe(1);
  });

  it("answers CONNACK 3 above MQTT_CONNECT_RATE and accepts again a second later", async () => {
    const rate = 10;
    p = await startPlatform({ env: { MQTT_CONNECT_RATE: String(rate) } });
    const platform = p;
    const [creds] = (await p.register("storm", 1)) as [DeviceCredentials];
    const t0 = performance.now();
    const conns = await Promise.all(Array.from({ length: 60 }, () => openRaw(platform.broker.ports.mqtt)));
    raws.push(...conns);
    for (const [i, c] of conns.entries())
      c.socket.write(
        connectPacket({
          clientId: `${creds.username}:storm-${i}`,
          username: creds.username,
          password: creds.password,
        }),
      );
    await waitFor(
      async () => conns.filter((c) => c.connack() !== undefined).length,
      (n) => n === 60,
      { what: "60 CONNACKs" },
    );
    const elapsed = (performance.now() - t0) / 1000;
    const codes = conns.map((c) => c.connack());
    const accepted = codes.filter((c) => c === 0).length;
    expect(codes.every((c) => c === 0 || c === 3)).toBe(true);
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThanOrEqual(rate + Math.ceil(rate * elapsed));
    expect(platform.broker.limits.refused.rate).toBe(60 - accepted);

    await sleep(1200);
    const later = await openRaw(platform.broker.ports.mqtt);
    raws.push(later);
    later.socket.write(
      connectPacket({
        clientId: `${creds.username}:storm-late`,
        username: creds.username,
        password: creds.password,
      }),
    );
    await waitFor(
      async () => later.connack(),
      (c) => c !== undefined,
      { what: "CONNACK" },
    );
    expect(later.connack()).toBe(0);
  });

  it("answers CONNACK 3 while MQTT_MAX_PENDING_AUTH credential lookups are in progress, and lets those finish", async () => {
    p = await startPlatform({ env: { MQTT_MAX_PENDING_AUTH: "3" } });
    const platform = p;
    const creds = await p.register("pending", 10);
    // credential lookups block behind this lock, so authentications pile up
    lock = new pg.Client({ connectionString: p.config.DATABASE_URL });
    await lock.connect();
    await lock.query("BEGIN");
    await lock.query("LOCK TABLE vehicles IN ACCESS EXCLUSIVE MODE");
    const conns = await Promise.all(creds.map(() => openRaw(platform.broker.ports.mqtt)));
    raws.push(...conns);
    for (const [i, c] of conns.entries()) {
      const { username, password } = creds[i] as DeviceCredentials;
      c.socket.write(connectPacket({ clientId: `${username}:pending-${i}`, username, password }));
    }
    await waitFor(
      async () => conns.filter((c) => c.connack() === 3).length,
      (n) => n === 7,
      { what: "7 CONNACK 3" },
    );
    // the marker: a later CONNECT is refused too, so none of the three had finished when the broker
    // took it
    const later = await openRaw(platform.broker.ports.mqtt);
    raws.push(later);
    const { username, password } = creds[0] as DeviceCredentials;
    later.socket.write(connectPacket({ clientId: `${username}:pending-later`, username, password }));
    await waitFor(
      async () => later.connack(),
      (c) => c !== undefined,
      { what: "the later CONNACK" },
    );
    expect(later.connack()).toBe(3);
    expect(conns.filter((c) => c.connack() === undefined)).toHaveLength(3);
    expect(platform.broker.limits.stats().pendingAuth).toBe(3);
    await lock.query("COMMIT");
    await waitFor(
      async () => conns.filter((c) => c.connack() === 0).length,
      (n) => n === 3,
      { what: "the 3 pending authentications to succeed" },
    );
  });

  it("refuses a 1 KB client id with CONNACK 2, for MQTT 3.1.1 too", async () => {
    p = await startPlatform();
    const [creds] = (await p.register("longid", 1)) as [DeviceCredentials];
    const raw = await openRaw(p.broker.ports.mqtt);
    raws.push(raw);
    raw.socket.write(
      connectPacket({ clientId: "c".repeat(1024), username: creds.username, password: creds.password }),
    );
    await raw.closed;
    expect(raw.connack()).toBe(2);
  });
});
