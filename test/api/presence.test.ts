import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { presenceKeys } from "../../broker/presence.ts";
import { sweepPresence } from "../../broker/presence-sweep.ts";
import { createLogger } from "../../core/logger.ts";
import type { DeviceCredentials } from "../../core/vehicles.ts";
import { connectPacket, openRaw, pingreq } from "../security/support/raw-mqtt.ts";
import { clientIdOf } from "../support/client-id.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";
import { type ApiHarness, startApi } from "./harness.ts";
import { openWs, type TestWs } from "./ws-client.ts";

// One embedded broker with a grace of a minute: the broker's own sweep (every second) makes
// vehicles online at once, and the tests sweep "a minute later" themselves (sweepPresence with a
// `now` of their choosing) to see what the grace decides, without waiting for it.
const GRACE_MS = 60_000;
const log = createLogger("presence-test", "silent");

describe("presence: online / offline from the broker's sessions", () => {
  let p: TestPlatform;
  let h: ApiHarness;
  let viewer: { authorization: string };
  let ws: TestWs;

  const vehicle = async (id: string) =>
    (await h.app.inject({ url: `/api/vehicles/${id}`, headers: viewer })).json() as {
      online: boolean | null;
      onlineSince: string | null;
      lastSeenAt: string | null;
    };
  const events = async (id: string) =>
    (await h.app.inject({ url: `/api/events?vehicleId=${id}&type=presence`, headers: viewer })).json()
      .items as { type: string; kind: string; at: string; vehicleId: string }[];
  const sweepAt = (now: number) =>
    sweepPresence({ pool: p.pool, redis: p.redis, graceMs: GRACE_MS, now, log });
  const sessions = (id: string) => p.redis.hlen(presenceKeys.sessions(id));
  const online = async (creds: DeviceCredentials) => {
    const c = await p.connect(creds);
    await waitFor(
      () => vehicle(creds.id),
      (v) => v.online === true,
      { what: `${creds.id} online` },
    );
    return c;
  };

  beforeAll(async () => {
    p = await startPlatform({ env: { PRESENCE_GRACE_S: String(GRACE_MS / 1000) } });
    h = await startApi({ platform: p });
    viewer = h.bearer(h.viewerToken);
    ws = await openWs(`ws://${await h.listen()}/ws`, viewer);
    ws.send({ type: "subscribe", bbox: [-180, -90, 180, 90] });
    await ws.next((m) => m.type === "snapshot");
  });
  afterAll(async () => {
    ws?.close();
    await h?.close();
    await p?.close();
  });

  it("is online on CONNECT (API, /api/events, /ws) and offline a grace after its last session ended", async () => {
    const [creds] = (await p.register("pr-basic", 1)) as [DeviceCredentials];
    expect((await vehicle(creds.id)).online).toBeNull();
    const before = Date.now();
    const c = await online(creds);
    const v = await vehicle(creds.id);
    expect(Date.parse(v.onlineSince as string)).toBeGreaterThanOrEqual(before - 5);
    expect(v.lastSeenAt).toBe(v.onlineSince);
    const list = (await h.app.inject({ url: "/api/vehicles", headers: viewer })).json().items;
    expect(list.find((x: { id: string }) => x.id === creds.id)).toMatchObject({ online: true });
    expect((await events(creds.id)).map((e) => e.kind)).toEqual(["online"]);
    await ws.next(
      (m) => m.type === "events" && (m.events ?? []).some((e) => matches(e, creds.id, "online")),
      0,
      "online on /ws",
    );

    await c.endAsync();
    const ended = Date.now();
    await waitFor(
      () => sessions(creds.id),
      (n) => n === 0,
      { what: "the session ended in Redis" },
    );
    // within the grace: still online
    expect(await sweepAt(ended + GRACE_MS / 2)).toEqual([]);
    expect((await vehicle(creds.id)).online).toBe(true);
    const [change] = await sweepAt(ended + GRACE_MS + 1000);
    expect(change).toMatchObject({ type: "presence", vehicleId: creds.id, kind: "offline" });
    const off = await vehicle(creds.id);
    expect(off).toMatchObject({ online: false, onlineSince: null });
    // dated when the session ended, not when the grace ran out
    expect(Date.parse(off.lastSeenAt as string)).toBeLessThanOrEqual(ended);
    expect((await events(creds.id)).map((e) => e.kind)).toEqual(["online", "offline"]);
    await ws.next(
      (m) => m.type === "events" && (m.events ?? []).some((e) => matches(e, creds.id, "offline")),
      0,
      "offline on /ws",
    );
  });

  it("makes no event of a reconnect within the grace", async () => {
    const [creds] = (await p.register("pr-flap", 1)) as [DeviceCredentials];
    const first = await online(creds);
    await first.endAsync();
    await waitFor(
      () => sessions(creds.id),
      (n) => n === 0,
      { what: "the session ended" },
    );
    await p.connect(creds);
    await waitFor(
      () => sessions(creds.id),
      (n) => n === 1,
      { what: "the new session" },
    );
    expect(await sweepAt(Date.now() + 10 * GRACE_MS)).toEqual([]);
    expect((await vehicle(creds.id)).online).toBe(true);
    expect((await events(creds.id)).map((e) => e.kind)).toEqual(["online"]);
  });

  it("stays online while one of two sessions (two client ids) is open", async () => {
    const [creds] = (await p.register("pr-two", 1)) as [DeviceCredentials];
    const a = await online(creds);
    await p.connect(creds, { clientId: clientIdOf(creds.username) });
    await waitFor(
      () => sessions(creds.id),
      (n) => n === 2,
      { what: "two sessions" },
    );
    await a.endAsync();
    await waitFor(
      () => sessions(creds.id),
      (n) => n === 1,
      { what: "one session left" },
    );
    expect(await sweepAt(Date.now() + 10 * GRACE_MS)).toEqual([]);
    expect((await vehicle(creds.id)).online).toBe(true);
  });

  it("ends a session on keepalive expiry and on a revoked credential", async () => {
    const [quiet, revoked] = (await p.register("pr-end", 2)) as [DeviceCredentials, DeviceCredentials];
    // a raw client (keepalive 1 s) that pings until it is online, then falls silent: the broker
    // drops it 1.5 s later
    const raw = await openRaw(p.broker.ports.mqtt);
    raw.socket.write(
      connectPacket({
        clientId: clientIdOf(quiet.username),
        username: quiet.username,
        password: quiet.password,
        keepalive: 1,
      }),
    );
    const pings = setInterval(() => raw.socket.write(pingreq()), 300);
    await waitFor(
      () => vehicle(quiet.id),
      (v) => v.online === true,
      { what: "raw client online" },
    );
    clearInterval(pings);
    await raw.closed;
    await online(revoked);
    p.broker.revoke(revoked.id);
    for (const id of [quiet.id, revoked.id])
      await waitFor(
        () => sessions(id),
        (n) => n === 0,
        { what: `${id}'s session ended` },
      );
    const changes = await sweepAt(Date.now() + GRACE_MS + 1000);
    expect(changes.filter((c) => c.vehicleId === quiet.id || c.vehicleId === revoked.id)).toEqual([
      expect.objectContaining({ vehicleId: quiet.id, kind: "offline" }),
      expect.objectContaining({ vehicleId: revoked.id, kind: "offline" }),
    ]);
  });

  it("writes a sweep's transitions in one statement, the events numbered in the order they fell due", async () => {
    const fleet = await p.register("pr-batch", 4);
    const clients = [];
    for (const creds of fleet) clients.push(await online(creds));
    // ended one after the other: they fall due (a grace after) in this order
    for (const [i, c] of clients.entries()) {
      await c.endAsync();
      const id = (fleet[i] as DeviceCredentials).id;
      await waitFor(
        () => sessions(id),
        (n) => n === 0,
        { what: `${id}'s session ended` },
      );
      await new Promise((r) => setTimeout(r, 5));
    }
    let statements = 0;
    const counted = new Proxy(p.pool, {
      get(target, key, receiver) {
        if (key !== "query") return Reflect.get(target, key, receiver);
        return (...args: Parameters<typeof target.query>) => {
          statements++;
          return (target.query as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const later = Date.now() + GRACE_MS + 1000;
    const out = await sweepPresence({ pool: counted, redis: p.redis, graceMs: GRACE_MS, now: later, log });
    const mine = out.filter((e) => e.vehicleId.startsWith("pr-batch"));
    expect(mine.map((e) => [e.vehicleId, e.kind])).toEqual(fleet.map((c) => [c.id, "offline"]));
    const ids = mine.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(statements).toBe(1);
    for (const creds of fleet)
      expect((await events(creds.id)).map((e) => e.kind)).toEqual(["online", "offline"]);
  });

  it("makes each transition once however many sweeps run at once", async () => {
    const [creds] = (await p.register("pr-once", 1)) as [DeviceCredentials];
    const c = await online(creds);
    await c.endAsync();
    await waitFor(
      () => sessions(creds.id),
      (n) => n === 0,
      { what: "the session ended" },
    );
    const later = Date.now() + GRACE_MS + 1000;
    const all = (await Promise.all([sweepAt(later), sweepAt(later), sweepAt(later)])).flat();
    expect(all.filter((e) => e.vehicleId === creds.id)).toHaveLength(1);
    expect((await events(creds.id)).map((e) => e.kind)).toEqual(["online", "offline"]);
  });
});

function matches(e: unknown, vehicleId: string, kind: string): boolean {
  const m = e as { type?: string; vehicleId?: string; kind?: string };
  return m.type === "presence" && m.vehicleId === vehicleId && m.kind === kind;
}
