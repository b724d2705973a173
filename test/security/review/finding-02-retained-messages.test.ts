import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { PublishPacket } from "aedes";
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { createRedis } from "../../../core/redis.ts";
import { addIntegration, addVehicle } from "../../../core/vehicles.ts";
import { clientIdOf, withClientId } from "../../support/client-id.ts";
import { startPlatform, type TestPlatform } from "../../support/platform.ts";
import { type RedisServer, startRedis } from "../../support/redis-server.ts";
import { waitFor } from "../../support/wait.ts";

// Security review finding 2 (docs/security.md): every device publish used to be stored retained
// when it asked, rejected ones included, on any of its topics (`owntracks/{id}/{any device name}`
// gives it as many as it likes): a loop of large retained publishes filled the broker's memory,
// or Redis in cluster mode (noeviction, which then stops BullMQ). A device never retains now.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const KB = 1024;
const PAD = "x".repeat(256 * KB);
const FLOOD = 200;
const JUNK = 20;
const nowS = Math.floor(Date.now() / 1000);

/** Heap and Buffers of this process (the broker runs in it), after a full collection. */
function memory(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function redisUsedMemory(url: string): Promise<number> {
  const r = createRedis(url);
  try {
    const info = await r.info("memory");
    return Number(/used_memory:(\d+)/.exec(info)?.[1]);
  } finally {
    r.disconnect();
  }
}

interface RetainedStore {
  createRetainedStream(pattern: string): AsyncIterable<PublishPacket>;
  storeRetained(packet: PublishPacket): Promise<void>;
}
const retainedStore = (p: TestPlatform) =>
  (p.broker.aedes as unknown as { persistence: RetainedStore }).persistence;

async function retainedCount(p: TestPlatform): Promise<number> {
  let n = 0;
  for await (const _ of retainedStore(p).createRetainedStream("#")) n++;
  return n;
}

describe("finding 2: a device's publishes are never stored retained", () => {
  let p: TestPlatform | undefined;
  let redis: RedisServer | undefined;
  afterEach(async () => {
    await p?.close();
    await redis?.cleanup();
    p = undefined;
    redis = undefined;
  });

  it("finding 2: a device's zero-length retained publish still clears a retained message an older version kept", async () => {
    p = await startPlatform();
    const v = await addVehicle(p.pool, { id: "cleaner" });
    const topic = `owntracks/${v.id}/phone`;
    await retainedStore(p).storeRetained({
      cmd: "publish",
      topic,
      payload: Buffer.from('{"_type":"location"}'),
      qos: 1,
      retain: true,
      dup: false,
      messageId: 1,
    });
    expect(await retainedCount(p)).toBe(1);
    const device = await p.connect(v);
    await device.publishAsync(topic, "", { qos: 1, retain: true });
    // Aedes stores (here: deletes) the retained message after writing the PUBACK
    const platform = p;
    await waitFor(
      () => retainedCount(platform),
      (n) => n === 0,
      { what: "the retained message cleared" },
    );
  });

  for (const cluster of [false, true]) {
    const mode = cluster ? "BROKER_CLUSTER=redis" : "in-memory sessions";
    it(`finding 2: ${mode}: ${FLOOD} retained 256 KB fixes on fresh topics are all stored, none retained, broker and Redis memory flat`, async () => {
      redis = await startRedis({ appendonly: false });
      p = await startPlatform({
        redisUrl: redis.url,
        cluster,
        // the flood's fixes are accepted: what is tried is the retain flag, not the payload cap
        env: { MAX_PAYLOAD_BYTES: String(512 * KB), MQTT_MAX_PACKET_BYTES: String(1024 * KB) },
      });
      const platform = p;
      const imei = "356307042441013";
      const v = await addVehicle(p.pool, { id: "retainer", imei });
      const integration = await addIntegration(p.pool, "retain-watch");
      const device = await p.connect(v);
      const retain = { qos: 1 as const, retain: true };
      // warm up (first connections, queues, statements) before the baseline
      await device.publishAsync(
        `fleet/${v.id}/location`,
        JSON.stringify({ lat: 25, lng: 55, recordedAt: (nowS - 4000) * 1000 }),
        retain,
      );
      await waitFor(
        () => platform.rowCount(),
        (n) => n === 1,
        { what: "the warm-up fix" },
      );
      const heapBefore = memory();
      const redisBefore = await redisUsedMemory(redis.url);

      // a fresh OwnTracks device name per message: every one a topic of its own
      const pubs: Promise<unknown>[] = [];
      for (let i = 0; i < FLOOD; i++) {
        const msg = { _type: "location", lat: 25.1, lon: 55.1 + i * 1e-4, tst: nowS - 3000 + i, pad: PAD };
        pubs.push(device.publishAsync(`owntracks/${v.id}/d${i}`, JSON.stringify(msg), retain));
      }
      // rejected ones too (no lat): acknowledged, never passed on, and never retained either
      for (let i = 0; i < JUNK; i++)
        pubs.push(device.publishAsync(`fleet/${v.id}/location`, `{"pad":"${PAD}"}`, retain));
      // every other topic a device may publish on
      const t = (nowS - 1000) * 1000;
      pubs.push(
        device.publishAsync(
          `fleet/${v.id}/location`,
          JSON.stringify({ lat: 25, lng: 55, recordedAt: t }),
          retain,
        ),
        device.publishAsync(
          `fleet/${v.id}/locations`,
          JSON.stringify([{ lat: 25, lng: 55.01, recordedAt: t + 1 }]),
          retain,
        ),
        device.publishAsync(
          `${imei}/data`,
          JSON.stringify({ state: { reported: { ts: t + 2, latlng: "25,55.02" } } }),
          retain,
        ),
        device.publishAsync(`fleet/${v.id}/commands/ack`, '{"commandId":"x","status":"ok"}', retain),
      );
      await Promise.all(pubs);
      // the resolved packets hold the payloads: not the broker's memory
      pubs.length = 0;
      // a will asking to be retained, published when the device vanishes without DISCONNECT
      const dying = await platform.connect(v, {
        clientId: clientIdOf(v.id),
        will: {
          topic: `owntracks/${v.id}/phone`,
          payload: Buffer.from('{"_type":"lwt"}'),
          qos: 1,
          retain: true,
        },
      });
      (dying as unknown as { stream: { destroy(): void } }).stream.destroy();

      const stored = await waitFor(
        () => platform.rowCount(),
        (n) => n >= 1 + FLOOD + 3,
        { what: "the flood's fixes stored" },
      );
      expect(stored).toBe(1 + FLOOD + 3);
      await waitFor(
        async () => platform.broker.aedes.connectedClients,
        (n) => n === 1,
        { what: "the dying device gone (its will published)" },
      );

      // a new subscriber on the widest filter it may use gets nothing retained
      const watcher = await mqtt.connectAsync(
        platform.mqttUrl,
        withClientId({ ...integration, reconnectPeriod: 0 }),
      );
      try {
        const seen: { topic: string; retain: boolean }[] = [];
        watcher.on("message", (topic, _payload, packet) => seen.push({ topic, retain: packet.retain }));
        await watcher.subscribeAsync("fleet/#", { qos: 1 });
        // the marker: a live fix arrives after anything retained would have
        const marker = `fleet/${v.id}/location`;
        await device.publishAsync(marker, JSON.stringify({ lat: 25, lng: 55.5, recordedAt: t + 9 }), {
          qos: 1,
        });
        await waitFor(
          async () => seen.some((m) => m.topic === marker && !m.retain),
          (ok) => ok,
          { what: "the marker" },
        );
        expect(seen.filter((m) => m.retain)).toEqual([]);
      } finally {
        await watcher.endAsync(true);
      }
      expect(await retainedCount(platform)).toBe(0);

      const floodBytes = (FLOOD + JUNK) * PAD.length;
      const heapGrowth = memory() - heapBefore;
      const redisGrowth = (await redisUsedMemory(redis.url)) - redisBefore;
      console.log(
        `${mode}: flood ${floodBytes >> 20} MiB, heap +${heapGrowth >> 20} MiB, Redis +${redisGrowth >> 20} MiB`,
      );
      // generous: a retained flood costs its full size; what is left is caches and queues
      expect(heapGrowth).toBeLessThan(floodBytes / 4);
      expect(redisGrowth).toBeLessThan(floodBytes / 4);
    });
  }
});
