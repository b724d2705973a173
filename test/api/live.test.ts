import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { channelOf, createRedis, redisKeys } from "../../core/redis.ts";
import type { DeviceCredentials } from "../../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";
import { type ApiHarness, startApi } from "./harness.ts";
import { type LiveMessage, openWs } from "./ws-client.ts";

// places no other test uses (the live channel is shared by every test file: pub/sub ignores db numbers)
const CAPE_TOWN = { lat: -33.92, lng: 18.42 };
const BUENOS_AIRES = { lat: -34.6, lng: -58.38 };
const CAPE_BOX = [18, -34.5, 19, -33.5];
const BA_BOX = [-59, -35, -58, -34];

const has = (m: LiveMessage, id: string) => (m.positions ?? []).some((p) => p.vehicleId === id);

describe("live WebSocket /ws", () => {
  let p: TestPlatform;
  let h: ApiHarness;
  let base: string;
  let auth: { authorization: string };
  let cape: DeviceCredentials;
  let ba: DeviceCredentials;

  beforeAll(async () => {
    p = await startPlatform({ worker: false });
    h = await startApi({ platform: p });
    base = await h.listen();
    auth = h.bearer(h.viewerToken);
    [cape, ba] = (await p.register(`live-${randomUUID().slice(0, 8)}`, 2)) as [
      DeviceCredentials,
      DeviceCredentials,
    ];
  });
  afterAll(async () => {
    await h?.close();
    await p?.close();
  });

  it("delivers a fix published over MQTT to a client whose box holds it, not to one whose box excludes it", async () => {
    const inCape = await openWs(`ws://${base}/ws`, auth);
    const inBa = await openWs(`ws://${base}/ws`, auth);
    inCape.send({ type: "subscribe", bbox: CAPE_BOX });
    inBa.send({ type: "subscribe", bbox: BA_BOX });
    await inCape.next((m) => m.type === "snapshot");
    await inBa.next((m) => m.type === "snapshot");

    const capeClient = await p.connect(cape);
    await capeClient.publishAsync(
      `fleet/${cape.id}/location`,
      JSON.stringify({ ...CAPE_TOWN, recordedAt: Date.now() - 1000, speed: 12 }),
      { qos: 1 },
    );
    const got = await inCape.next((m) => m.type === "positions" && has(m, cape.id), 0, "the Cape Town fix");
    expect(got.positions?.find((x) => x.vehicleId === cape.id)).toMatchObject({ ...CAPE_TOWN, speed: 12 });

    // a later fix inside the other box: the hub handles the live channel in order, so by the
    // time that client has it, it would have had the Cape Town fix too, were it sent to it
    const baClient = await p.connect(ba);
    await baClient.publishAsync(
      `fleet/${ba.id}/location`,
      JSON.stringify({ ...BUENOS_AIRES, recordedAt: Date.now() }),
      {
        qos: 1,
      },
    );
    await inBa.next((m) => m.type === "positions" && has(m, ba.id), 0, "the Buenos Aires fix");
    expect(inBa.messages.some((m) => has(m, cape.id))).toBe(false);
    expect(inCape.messages.some((m) => has(m, ba.id))).toBe(false);
    inCape.close();
    inBa.close();
  });

  it("sends a snapshot of the box after a reconnect", async () => {
    const again = await openWs(`ws://${base}/ws`, auth);
    again.send({ type: "subscribe", bbox: CAPE_BOX });
    const snap = await again.next((m) => m.type === "snapshot");
    expect(snap.positions?.map((x) => x.vehicleId)).toContain(cape.id);
    expect(snap.positions?.map((x) => x.vehicleId)).not.toContain(ba.id);
    // a new subscribe (the map moved) answers with the new box's snapshot
    const from = again.messages.length;
    again.send({ type: "subscribe", bbox: BA_BOX });
    const moved = await again.next((m) => m.type === "snapshot", from);
    expect(moved.positions?.map((x) => x.vehicleId)).toEqual([ba.id]);
    again.close();
  });

  it("answers bad client messages with an error naming the problem, and stays open", async () => {
    const ws = await openWs(`ws://${base}/ws`, auth);
    ws.send("not json");
    expect((await ws.next((m) => m.type === "error")).error).toBe("message is not JSON");
    ws.send({ type: "dance" });
    expect((await ws.next((m) => m.type === "error", 1)).error).toMatch(/^type: /);
    ws.send({ type: "subscribe", bbox: [10, 10, 5, 20] });
    expect((await ws.next((m) => m.type === "error", 2)).error).toMatch(/^bbox: west must be less than east/);
    ws.send({ type: "subscribe", bbox: [0, 0, 1] });
    expect((await ws.next((m) => m.type === "error", 3)).error).toMatch(/^bbox/);
    ws.send({ type: "subscribe", bbox: CAPE_BOX });
    await ws.next((m) => m.type === "snapshot", 4);
    ws.close();
  });

  it("forwards events from the events channel to subscribed clients in whose box they happened", async () => {
    const ws = await openWs(`ws://${base}/ws`, auth);
    const outside = await openWs(`ws://${base}/ws`, auth);
    ws.send({ type: "subscribe", bbox: CAPE_BOX });
    outside.send({ type: "subscribe", bbox: BA_BOX });
    await ws.next((m) => m.type === "snapshot");
    await outside.next((m) => m.type === "snapshot");
    const id = `evt-${randomUUID()}`;
    const event = { type: "geofence_enter", id, vehicleId: cape.id, ...CAPE_TOWN, at: Date.now() };
    const marker = { type: "marker", id: `${id}-marker`, vehicleId: ba.id, ...BUENOS_AIRES };
    const pub = createRedis(p.config.REDIS_URL);
    try {
      const events = channelOf(pub, redisKeys.eventsChannel);
      await pub.publish(events, JSON.stringify([event]));
      await pub.publish(events, JSON.stringify([marker]));
    } finally {
      pub.disconnect();
    }
    const got = await ws.next((m) => m.type === "events" && JSON.stringify(m.events).includes(id));
    expect(got.events).toContainEqual(event);
    await outside.next((m) => m.type === "events" && JSON.stringify(m.events).includes(marker.id));
    expect(outside.messages.some((m) => JSON.stringify(m.events ?? []).includes(`"${id}"`))).toBe(false);
    ws.close();
    outside.close();
  });

  it("refuses a connection without credentials (401)", async () => {
    await expect(openWs(`ws://${base}/ws`)).rejects.toThrow("HTTP 401");
  });
});

describe("live hub: coalescing and slow clients", () => {
  const channels = { live: `test:live:${randomUUID()}`, events: `test:events:${randomUUID()}` };
  let h: ApiHarness;
  let base: string;
  const publish = async (positions: object[]) => {
    await h.redis.publish(channels.live, JSON.stringify(positions));
  };
  const pos = (vehicleId: string, recordedAt: number, lat = 1, lng = 1) => ({
    vehicleId,
    recordedAt,
    lat,
    lng,
    receivedAt: recordedAt,
  });

  beforeAll(async () => {
    h = await startApi({ liveFlushMs: 0, liveChannels: channels, env: { WS_MAX_BUFFER_BYTES: "65536" } });
    base = await h.listen();
  });
  afterAll(() => h?.close());

  it("sends each vehicle's newest position once per flush, however many updates came in between", async () => {
    const ws = await openWs(`ws://${base}/ws`, h.bearer(h.viewerToken));
    ws.send({ type: "subscribe" });
    await ws.next((m) => m.type === "snapshot");
    const before = h.app.hub.stats.messagesIn;
    for (let t = 1; t <= 5; t++) await publish([pos("co-1", 1000 + t)]);
    await publish([pos("co-1", 1001), pos("co-2", 7)]); // late for co-1: must not win
    await waitFor(
      async () => h.app.hub.stats.messagesIn - before,
      (n) => n === 6,
      { what: "6 messages in" },
    );
    h.app.hub.flush();
    const m = await ws.next((x) => x.type === "positions", 1);
    // fixes from 1970: marked stale (STALE_AFTER_SECONDS), the flag every /ws position carries
    const stale = (p: object) => ({ ...p, stale: true });
    expect(m.positions).toEqual([stale(pos("co-1", 1005)), stale(pos("co-2", 7))]);
    h.app.hub.flush();
    await publish([pos("co-3", 1)]);
    await waitFor(
      async () => h.app.hub.stats.messagesIn - before,
      (n) => n === 7,
      { what: "7 messages in" },
    );
    h.app.hub.flush();
    const next = await ws.next((x) => x.type === "positions", ws.messages.indexOf(m) + 1);
    expect(next.positions).toEqual([stale(pos("co-3", 1))]);
    ws.close();
  });

  it("drops a client that does not read instead of buffering without bound", async () => {
    const ws = await openWs(`ws://${base}/ws`, h.bearer(h.viewerToken));
    ws.send({ type: "subscribe" });
    await ws.next((m) => m.type === "snapshot");
    const socket = (ws.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const big = Array.from({ length: 2000 }, (_, i) => pos(`slow-${i}`, 0, 10, 10));
    let round = 0;
    await waitFor(
      async () => {
        round++;
        await publish(big.map((x) => ({ ...x, recordedAt: round })));
        await new Promise((r) => setTimeout(r, 20));
        h.app.hub.flush();
        return h.app.hub.stats.dropped;
      },
      (n) => n >= 1,
      { what: "the slow client dropped", timeoutMs: 60_000, intervalMs: 10 },
    );
    expect(h.app.hub.stats.clients).toBe(0);
    socket.resume();
    expect(await ws.closed).toBe(1006);
  });
});
