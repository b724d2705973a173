import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topics } from "../../core/topics.ts";
import { addIntegration, addVehicle, type DeviceCredentials } from "../../core/vehicles.ts";
import { type ApiHarness, startApi } from "../api/harness.ts";
import { withClientId } from "../support/client-id.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { storedBesides, storeSentinel } from "../support/sentinel.ts";
import { waitFor } from "../support/wait.ts";
import { fillPath, listRoutes } from "./support/routes.ts";

// Who may do what, over MQTT and HTTP (docs/architecture.md "Contracts"; docs/security.md): each refusal is
// checked through the front door, and that nothing was stored or delivered because of it.
const IMEI_A = "356307042441013";
const IMEI_B = "356307042441014";
const fix = (dt = 0) => JSON.stringify({ lat: 25.2, lng: 55.3, recordedAt: Date.now() - 60_000 + dt });

function refusedCode(url: string, opts: mqtt.IClientOptions): Promise<number | undefined> {
  return mqtt.connectAsync(url, withClientId({ reconnectPeriod: 0, ...opts })).then(
    (c) => {
      c.end(true);
      return undefined;
    },
    (e: { code?: number }) => e.code,
  );
}

describe("access control", () => {
  let p: TestPlatform;
  let api: ApiHarness;
  let a: DeviceCredentials;
  let b: DeviceCredentials;
  let integration: { username: string; password: string };
  /** publishes after the forbidden messages: once it is stored, so would they be */
  let sentinel: DeviceCredentials;

  beforeAll(async () => {
    p = await startPlatform();
    api = await startApi({ platform: p });
    a = await addVehicle(p.pool, { id: "acl-a", imei: IMEI_A });
    b = await addVehicle(p.pool, { id: "acl-b", imei: IMEI_B });
    integration = await addIntegration(p.pool, "acl-dashboard");
    sentinel = await addVehicle(p.pool, { id: "acl-sentinel" });
  });
  afterAll(async () => {
    await api?.close();
    await p?.close();
  });

  async function publishRefused(creds: { username: string; password: string }, topic: string): Promise<void> {
    const client = await p.connect(creds);
    const gone = new Promise<void>((r) => client.once("close", () => r()));
    client.publish(topic, fix(), { qos: 1 });
    await gone;
  }

  it("a device cannot publish outside its own ingest topics: the connection is closed, nothing stored", async () => {
    const forbidden = [
      topics.location(b.id),
      topics.locations(b.id),
      topics.owntracks(b.id, "phone"),
      topics.teltonika(IMEI_B),
      topics.teltonika("999999999999999"),
      topics.errors(a.id),
      topics.events(a.id),
      topics.commands(a.id),
      topics.commandAck(b.id),
      `${topics.location(a.id)}/extra`,
      `owntracks/${a.id}/phone/evil`,
      `fleet/${a.id}/Location`,
      `fleet/${a.id}`,
      "$SYS/broker/clients",
      "foo/bar",
    ];
    for (const topic of forbidden) await publishRefused(a, topic);
    await storeSentinel(p, sentinel);
    expect(await storedBesides(p, sentinel)).toEqual({ fixes: 0, rejects: 0 });
  });

  it("a device may subscribe to its own errors, events and commands only", async () => {
    const client = await p.connect(a);
    const asked = [
      topics.errors(a.id),
      topics.events(a.id),
      topics.commands(a.id),
      "fleet/#",
      "fleet/+/errors",
      "fleet/+/commands",
      topics.errors(b.id),
      topics.events(b.id),
      topics.commands(b.id),
      `fleet/${a.id}/#`,
      topics.location(a.id),
      "#",
      "+/+/+",
      "$SYS/#",
      "owntracks/#",
      "+/data",
      topics.teltonika(IMEI_A),
    ];
    const suback = await client.subscribeAsync(asked, { qos: 1 }).then(
      () => undefined,
      (err: { packet?: { granted?: number[] } }) => err.packet,
    );
    expect(suback?.granted).toEqual([1, 1, 1, ...Array(asked.length - 3).fill(128)]);
    expect(client.connected).toBe(true);
  });

  it("a device cannot read another vehicle's errors, events or commands", async () => {
    const received: Record<string, string[]> = { a: [], b: [] };
    // b's messages as topic and payload: its presence `online` event shares its events topic
    const toB: string[] = [];
    const ca = await p.connect(a);
    const cb = await p.connect(b);
    for (const [name, c, id] of [
      ["a", ca, a.id],
      ["b", cb, b.id],
    ] as const) {
      await c.subscribeAsync([topics.errors(id), topics.events(id), topics.commands(id)], { qos: 1 });
      c.on("message", (topic, payload) => {
        received[name]?.push(topic);
        if (name === "b") toB.push(`${topic} ${payload}`);
      });
    }
    // b earns an error notice, an event and a command
    await cb.publishAsync(topics.location(b.id), "not json", { qos: 1 });
    for (const topic of [topics.events(b.id), topics.commands(b.id)])
      p.broker.aedes.publish(
        { cmd: "publish", topic, payload: "{}", qos: 1, retain: false, dup: false },
        () => {},
      );
    await waitFor(
      async () => [...toB],
      (got) =>
        got.some((m) => m.startsWith(`${topics.errors(b.id)} `)) &&
        got.includes(`${topics.events(b.id)} {}`) &&
        got.includes(`${topics.commands(b.id)} {}`),
      { what: "b's error notice, event and command" },
    );
    // a later message of a's own: the broker delivers to a client in publish order, so once it is
    // in, anything of b's that a was going to get would be in too
    p.broker.aedes.publish(
      { cmd: "publish", topic: topics.events(a.id), payload: "{}", qos: 1, retain: false, dup: false },
      () => {},
    );
    await waitFor(
      async () => received.a?.length ?? 0,
      (n) => n > 0,
      { what: "a's own event" },
    );
    // a's own topics only (its presence `online` event may be among them), none of b's
    expect(received.a).toContain(topics.events(a.id));
    for (const topic of received.a ?? []) expect(topic.startsWith(`fleet/${a.id}/`), topic).toBe(true);
    for (const topic of [topics.errors(b.id), topics.events(b.id), topics.commands(b.id)])
      expect(received.a).not.toContain(topic);
  });

  it("an integration account may read fleet/# but cannot publish anything: ingest, commands, errors", async () => {
    const reader = await p.connect(integration);
    const granted = await reader.subscribeAsync("fleet/#", { qos: 1 });
    expect(granted[0]?.qos).toBe(1);
    for (const topic of [
      topics.location(a.id),
      topics.locations(a.id),
      topics.owntracks(a.id, "phone"),
      topics.teltonika(IMEI_A),
      topics.commands(a.id),
      topics.errors(a.id),
      topics.events(a.id),
    ])
      await publishRefused(integration, topic);
    await storeSentinel(p, sentinel);
    expect((await storedBesides(p, sentinel)).fixes).toBe(0);
  });

  it("a revoked device is disconnected at once and cannot connect again", async () => {
    const victim = await addVehicle(p.pool, { id: "acl-revoked" });
    const client: MqttClient = await p.connect(victim);
    const gone = new Promise<void>((r) => client.once("close", () => r()));
    const res = await api.app.inject({
      method: "POST",
      url: `/api/vehicles/${victim.id}/credentials`,
      headers: api.bearer(api.adminToken),
    });
    expect(res.statusCode).toBe(200);
    await gone;
    expect(await refusedCode(p.mqttUrl, { username: victim.username, password: victim.password })).toBe(4);
    const del = await api.app.inject({
      method: "DELETE",
      url: `/api/vehicles/${victim.id}`,
      headers: api.bearer(api.adminToken),
    });
    expect(del.statusCode).toBeLessThan(300);
    const fresh = (res.json() as { credentials: { username: string; password: string } }).credentials;
    expect(await refusedCode(p.mqttUrl, fresh)).toBe(4);
  });

  it("a viewer gets 403 on every write route; the anonymous get 401", async () => {
    // routes that are not a user's writes: logging in and out, and device ingest (device auth)
    const notUserWrites = new Set([
      "/api/auth/login",
      "/api/auth/logout",
      "/api/auth/logout-all",
      "/api/location",
      "/api/locations",
      "/api/owntracks",
    ]);
    const writes = listRoutes(api.app).filter(
      (r) => ["POST", "PUT", "PATCH", "DELETE"].includes(r.method) && !notUserWrites.has(r.path),
    );
    expect(writes.length).toBeGreaterThan(20);
    const wrong: string[] = [];
    for (const r of writes) {
      const url = fillPath(r.path, a.id);
      for (const [who, headers, expected] of [
        ["viewer", api.bearer(api.viewerToken), 403],
        ["anonymous", {}, 401],
      ] as const) {
        const res = await api.app.inject({
          method: r.method as "POST",
          url,
          headers: { ...headers, "content-type": "application/json" },
          payload: "{}",
        });
        if (res.statusCode !== expected) wrong.push(`${who} ${r.method} ${r.path}: ${res.statusCode}`);
      }
    }
    expect(wrong).toEqual([]);
    // and nothing was written: the vehicle is still there, unchanged
    const v = await api.app.inject({ url: `/api/vehicles/${a.id}`, headers: api.bearer(api.adminToken) });
    expect(v.statusCode).toBe(200);
    console.log(`write routes checked for viewers and anonymous callers: ${writes.length}`);
  });
});
