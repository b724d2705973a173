import type { MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { counterField, labelledField } from "../../core/metrics-catalogue.ts";
import { redisKeys } from "../../core/redis.ts";
import type { DeviceCredentials } from "../../core/vehicles.ts";
import { clientIdOf } from "../support/client-id.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { connectPacket, openRaw, publishPacket, type RawConnection } from "./support/raw-mqtt.ts";

// Load shedding (broker/limits/load-shed.ts): with a BROKER_SHED_* threshold tiny and its measure
// pushed past it for real (the event loop held busy, or the queue's Redis stopped), the broker
// stops reading its clients and answers new CONNECTs with CONNACK 3; once the measure falls
// back, nothing sent meanwhile is lost and connects succeed again.
const now = Date.now();
const fix = (i: number) =>
  JSON.stringify({ lat: 25.2, lng: 55.27 + i * 1e-5, recordedAt: now - 3_000_000 + i * 1000 });

const shedding = (p: TestPlatform, on: boolean, what: string) =>
  waitFor(
    async () => p.broker.limits.shedding.shedding,
    (s) => s === on,
    { what, timeoutMs: 30_000, intervalMs: 20 },
  );

describe("broker load shedding", () => {
  let p: TestPlatform | undefined;
  let redis: RedisServer | undefined;
  let busy: NodeJS.Timeout | undefined;
  const raws: RawConnection[] = [];
  afterEach(async () => {
    clearInterval(busy);
    for (const r of raws.splice(0)) r.socket.destroy();
    redis?.resume();
    await p?.close();
    await redis?.cleanup();
    p = undefined;
    redis = undefined;
  });

  /** a CONNECT over a raw socket; resolves with the CONNACK's return code */
  async function connack(platform: TestPlatform, creds: DeviceCredentials, keepalive = 60) {
    const raw = await openRaw(platform.broker.ports.mqtt);
    raws.push(raw);
    const { username, password } = creds;
    raw.socket.write(connectPacket({ clientId: clientIdOf(username), username, password, keepalive }));
    const code = await waitFor(
      async () => raw.connack(),
      (c) => c !== undefined,
      { what: "CONNACK" },
    );
    return { raw, code };
  }

  /** a device connected while the broker does not shed (a start-up hiccup may trip a tiny threshold) */
  async function connectDevice(platform: TestPlatform, creds: DeviceCredentials): Promise<MqttClient> {
    for (;;) {
      await shedding(platform, false, "no shedding before connecting");
      try {
        return await platform.connect(creds, { keepalive: 60 });
      } catch (err) {
        if ((err as { code?: number }).code !== 3) throw err;
      }
    }
  }

  it("sheds at BROKER_SHED_LOOP_DELAY_MS: CONNACK 3, clients not read nor dropped for keepalive, nothing lost", async () => {
    // paused only, however long it lasts (the disconnect is the next test's)
    p = await startPlatform({
      env: { BROKER_SHED_LOOP_DELAY_MS: "100", BROKER_SHED_DISCONNECT_MS: "0", BATCH_MS: "5" },
    });
    const platform = p;
    const [a, b] = (await p.register("shedloop", 2)) as [DeviceCredentials, DeviceCredentials];
    const device = await connectDevice(platform, a);
    // a client asking a 2 s keepalive and sending nothing more: Aedes drops it after 3 s of silence
    let quiet: RawConnection | undefined;
    while (!quiet) {
      await shedding(platform, false, "no shedding before connecting");
      const c = await connack(platform, a, 2);
      if (c.code === 0) quiet = c.raw;
    }
    // its silence starts now (a PINGREQ), right before the loop is held and shedding starts
    quiet.socket.write(Buffer.from([0xc0, 0x00]));

    // the event loop held: 300 ms of every 320
    busy = setInterval(() => {
      const t = performance.now();
      while (performance.now() - t < 300) {}
    }, 20);
    await shedding(platform, true, "shedding to start");
    expect(platform.broker.limits.stats().shedding).toBe(true);

    const acked: number[] = [];
    const n = 20;
    const pubs = Array.from({ length: n }, (_, i) =>
      device.publishAsync(`fleet/${a.id}/location`, fix(i), { qos: 1 }).then(() => acked.push(i)),
    );
    const refused = await connack(platform, b);
    expect(refused.code).toBe(3);
    // past the quiet client's keepalive (3 s from its PINGREQ), the loop still held
    await sleep(3500);
    expect(platform.broker.limits.shedding.shedding).toBe(true);
    expect(acked).toEqual([]);
    expect(quiet.isClosed()).toBe(false);
    expect(device.connected).toBe(true);
    expect(platform.broker.limits.refused.shedding).toBeGreaterThanOrEqual(1);

    clearInterval(busy);
    await shedding(platform, false, "shedding to stop");
    await Promise.all(pubs);
    expect(acked.sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i));
    await waitFor(
      () => platform.rowCount(),
      (c) => c >= n,
      { what: `${n} rows` },
    );
    expect(await platform.rowCount()).toBe(n);
    // connects succeed again. The threshold is tiny: on a loaded machine (the test files run side by
    // side) the broker may shed again for a moment on its own; a CONNECT refused then is refused for
    // shedding (its counter moves) and is asked again once shedding stops
    for (;;) {
      await shedding(platform, false, "no shedding before connecting again");
      const refusedBefore = platform.broker.limits.refused.shedding;
      const again = await connack(platform, b);
      if (again.code === 0) break;
      expect(again.code).toBe(3);
      expect(platform.broker.limits.refused.shedding).toBeGreaterThan(refusedBefore);
    }

    // /metrics: logitrack_broker_connects_refused_total{reason="shedding"}, _shedding_total, _sockets_paused_total
    const fields = await waitFor(
      () => platform.redis.hgetall(redisKeys.metrics),
      (f) => Number(f[labelledField("broker_connects_refused", "shedding")] ?? 0) >= 1,
      { what: "the shedding refusals in the metrics hash" },
    );
    expect(Number(fields[counterField("broker_shedding")])).toBeGreaterThanOrEqual(1);
    expect(Number(fields[counterField("broker_sockets_paused")])).toBeGreaterThanOrEqual(2);
  });

  it("disconnects a client not read for BROKER_SHED_DISCONNECT_MS: no PUBACK for what it sent unread, resent after and stored once", async () => {
    p = await startPlatform({
      env: { BROKER_SHED_LOOP_DELAY_MS: "100", BROKER_SHED_DISCONNECT_MS: "600", BATCH_MS: "5" },
    });
    const platform = p;
    const [a, b] = (await p.register("sheddisc", 2)) as [DeviceCredentials, DeviceCredentials];
    const open = async (creds: DeviceCredentials) => {
      for (;;) {
        await shedding(platform, false, "no shedding before connecting");
        const c = await connack(platform, creds);
        if (c.code === 0) return c.raw;
      }
    };
    const connected = await open(a);
    // connected and silent: it has nothing unread, so it waits for no PUBACK and is not closed
    const idle = await open(b);

    busy = setInterval(() => {
      const t = performance.now();
      while (performance.now() - t < 300) {}
    }, 20);
    await shedding(platform, true, "shedding to start");
    const n = 10;
    // written while its socket is not read: the kernel holds them
    for (let i = 0; i < n; i++)
      connected.socket.write(publishPacket(`fleet/${a.id}/location`, fix(i), 1, i + 1));
    const closedAt = await Promise.race([
      connected.closed.then(() => "closed" as const),
      sleep(8000).then(() => "open" as const),
    ]);
    expect(closedAt).toBe("closed");
    expect(platform.broker.limits.shedding.shedding).toBe(true);
    expect(idle.isClosed()).toBe(false);
    // CONNACK 0 is all it got: no PUBACK (0x40) for the publishes it sent unread
    expect([...connected.received()]).toEqual([0x20, 0x02, 0x00, 0x00]);
    expect(platform.broker.limits.shedding.counts.disconnected).toBeGreaterThanOrEqual(1);
    // reconnecting while the broker still sheds: CONNACK 3, which devices retry
    expect((await connack(platform, a)).code).toBe(3);

    clearInterval(busy);
    await shedding(platform, false, "shedding to stop");
    // the device sends them again once connected: every one acknowledged, stored once
    const again = await connectDevice(platform, a);
    await Promise.all(
      Array.from({ length: n }, (_, i) => again.publishAsync(`fleet/${a.id}/location`, fix(i), { qos: 1 })),
    );
    await waitFor(
      () => platform.rowCount(),
      (c) => c >= n,
      { what: `${n} rows` },
    );
    expect(await platform.rowCount()).toBe(n);
    const fields = await waitFor(
      () => platform.redis.hgetall(redisKeys.metrics),
      (f) => Number(f[counterField("broker_shed_disconnects")] ?? 0) >= 1,
      { what: "the shedding disconnects in the metrics hash" },
    );
    expect(Number(fields[counterField("broker_shed_disconnects")])).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ["BROKER_SHED_HELD", { BROKER_SHED_HELD: "10", BROKER_SHED_QUEUE_MS: "0" }, 30],
    ["BROKER_SHED_QUEUE_MS", { BROKER_SHED_HELD: "0", BROKER_SHED_QUEUE_MS: "500" }, 1],
  ] as const)(
    "sheds at %s while the queue is away, and admits again once it drained",
    async (_name, env, n) => {
      redis = await startRedis();
      p = await startPlatform({
        redisUrl: redis.url,
        // the loop delay not watched: only the measure under test trips
        env: { ...env, BROKER_SHED_LOOP_DELAY_MS: "0", HOLD_CAP_MS: "60000", BATCH_MS: "5" },
      });
      const platform = p;
      const [a, b] = (await p.register("shedq", 2)) as [DeviceCredentials, DeviceCredentials];
      const device = await connectDevice(platform, a);
      expect((await connack(platform, b)).code).toBe(0);

      redis.pause();
      const pubs = Array.from({ length: n }, (_, i) =>
        device.publishAsync(`fleet/${a.id}/location`, fix(i), { qos: 1 }),
      );
      await shedding(platform, true, "shedding to start");
      expect((await connack(platform, b)).code).toBe(3);

      redis.resume();
      await Promise.all(pubs);
      await shedding(platform, false, "shedding to stop");
      expect((await connack(platform, b)).code).toBe(0);
      await waitFor(
        () => platform.rowCount(),
        (c) => c >= n,
        { what: `${n} rows` },
      );
      expect(await platform.rowCount()).toBe(n);
    },
  );
});
