import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deviceConnections } from "../../api/device-connections.ts";
import { addToken } from "../../core/api-tokens.ts";
import { addVehicle } from "../../core/vehicles.ts";
import { withClientId } from "../support/client-id.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { type ApiHarness, startApi } from "./harness.ts";
import { openWs } from "./ws-client.ts";

describe("creating accounts from the API (users, passwords, tokens, integrations)", () => {
  let p: TestPlatform;
  let h: ApiHarness;
  let admin: { authorization: string };
  let viewer: { authorization: string };

  beforeAll(async () => {
    p = await startPlatform({ worker: false });
    h = await startApi({ platform: p });
    admin = h.bearer(h.adminToken);
    viewer = h.bearer(h.viewerToken);
  });
  afterAll(async () => {
    await h?.close();
    await p?.close();
  });

  const post = (url: string, payload: unknown, headers = admin) =>
    h.app.inject({ method: "POST", url, headers, payload: payload as object });
  const login = (username: string, password: string) =>
    h.app.inject({ method: "POST", url: "/api/auth/login", payload: { username, password } });
  const cookieOf = (res: { cookies: { name: string; value: string }[] }) => {
    const c = res.cookies.find((x) => x.name === "lt_session");
    return { cookie: `lt_session=${c?.value}` };
  };

  it("adds a user with a password of its own or a generated one (shown once); refuses a repeat", async () => {
    const res = await post("/api/users", { username: "ops.anna", role: "viewer", password: "anna-password" });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ id: expect.any(Number), username: "ops.anna", role: "viewer" });
    expect((await login("ops.anna", "anna-password")).statusCode).toBe(200);

    const gen = await post("/api/users", { username: "ops.ben", role: "admin" });
    expect(gen.statusCode).toBe(201);
    expect(gen.json().password).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect((await login("ops.ben", gen.json().password)).json()).toMatchObject({ role: "admin" });

    const again = await post("/api/users", { username: "ops.anna", role: "viewer" });
    expect(again.statusCode).toBe(409);
    const short = await post("/api/users", { username: "ops.cem", role: "viewer", password: "short" });
    expect(short.statusCode).toBe(400);
    expect(short.json().message).toBe("body.password: must have at least 8 characters");
    const users = (await h.app.inject({ url: "/api/users", headers: admin })).json().items;
    expect(users.map((u: { username: string }) => u.username)).not.toContain("ops.cem");
  });

  it("a password reset ends the user's sessions: the old password and the old cookie are refused", async () => {
    await post("/api/users", { username: "ops.dora", role: "viewer", password: "dora-password" });
    const session = cookieOf(await login("ops.dora", "dora-password"));
    expect((await h.app.inject({ url: "/api/auth/me", headers: session })).statusCode).toBe(200);

    const reset = await post("/api/users/ops.dora/password", {});
    expect(reset.statusCode).toBe(200);
    const fresh = reset.json().password as string;
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect((await h.app.inject({ url: "/api/auth/me", headers: session })).statusCode).toBe(401);
    expect((await login("ops.dora", "dora-password")).statusCode).toBe(401);
    expect((await login("ops.dora", fresh)).statusCode).toBe(200);

    expect((await post("/api/users/nobody/password", {})).statusCode).toBe(404);
  });

  it("creates an API token answered once, which then authenticates and can be revoked", async () => {
    const res = await post("/api/tokens", { name: "grafana", role: "viewer" });
    expect(res.statusCode).toBe(201);
    const t = res.json();
    expect(t).toMatchObject({ name: "grafana", role: "viewer" });
    expect(t.token).toMatch(/^lt_/);
    const bearer = h.bearer(t.token);
    expect((await h.app.inject({ url: "/api/vehicles", headers: bearer })).statusCode).toBe(200);
    const list = (await h.app.inject({ url: "/api/tokens", headers: admin })).json().items;
    expect(JSON.stringify(list)).not.toContain(t.token);
    expect(
      (await h.app.inject({ method: "DELETE", url: `/api/tokens/${t.id}`, headers: admin })).statusCode,
    ).toBe(204);
    expect((await h.app.inject({ url: "/api/vehicles", headers: bearer })).statusCode).toBe(401);
  });

  it("creates a token limited to groups from its first request; refuses an unknown group", async () => {
    await addVehicle(h.pool, { id: "tok-in" });
    await addVehicle(h.pool, { id: "tok-out" });
    const g = (await post("/api/groups", { name: "TokNorth" })).json();
    await post(`/api/groups/${g.id}/vehicles`, { vehicleIds: ["tok-in"] });
    const res = await post("/api/tokens", { name: "north-ci", role: "viewer", groupIds: [g.id] });
    expect(res.statusCode).toBe(201);
    const bearer = h.bearer(res.json().token);
    const ids = (await h.app.inject({ url: "/api/vehicles", headers: bearer }))
      .json()
      .items.map((v: { id: string }) => v.id);
    expect(ids).toEqual(["tok-in"]);
    const row = (await h.app.inject({ url: "/api/tokens", headers: admin }))
      .json()
      .items.find((t: { name: string }) => t.name === "north-ci");
    expect(row).toMatchObject({ allVehicles: false, groupIds: [g.id] });
    const bad = await post("/api/tokens", { name: "nowhere", role: "viewer", groupIds: [987654] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toBe("there is no group 987654");
  });

  it("creates a token with an expiry, listed with it; past it the token and its sessions are refused (E_TOKEN_EXPIRED)", async () => {
    const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const res = await post("/api/tokens", { name: "contractor", role: "viewer", expiresAt });
    expect(res.statusCode).toBe(201);
    const t = res.json();
    expect(t).toMatchObject({ name: "contractor", expiresAt });
    const bearer = h.bearer(t.token);
    expect((await h.app.inject({ url: "/api/vehicles", headers: bearer })).statusCode).toBe(200);
    const login = await h.app.inject({ method: "POST", url: "/api/auth/login", payload: { token: t.token } });
    const session = cookieOf(login);
    expect((await h.app.inject({ url: "/api/auth/me", headers: session })).statusCode).toBe(200);
    const listed = (await h.app.inject({ url: "/api/tokens", headers: admin })).json().items;
    expect(listed.find((x: { id: number }) => x.id === t.id)).toMatchObject({ expiresAt, revokedAt: null });

    // the 30 days pass
    await h.pool.query("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", [
      t.id,
    ]);
    const refused = await h.app.inject({ url: "/api/vehicles", headers: bearer });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ code: "E_TOKEN_EXPIRED", message: "the API token has expired" });
    const again = await h.app.inject({ method: "POST", url: "/api/auth/login", payload: { token: t.token } });
    expect(again.json()).toMatchObject({ statusCode: 401, code: "E_TOKEN_EXPIRED" });
    expect((await h.app.inject({ url: "/api/auth/me", headers: session })).statusCode).toBe(401);

    for (const [when, why] of [
      [new Date(Date.now() - 60_000).toISOString(), "body.expiresAt: must be in the future"],
      [new Date(Date.now() + 4000 * 86_400_000).toISOString(), "body.expiresAt: at most 3650 days away"],
    ] as const) {
      const bad = await post("/api/tokens", { name: "late", role: "viewer", expiresAt: when });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().message).toContain(why);
    }
  });

  it("closes a live socket opened with a token when the token expires", async () => {
    const base = await h.listen();
    const t = await addToken(h.pool, {
      name: "wall",
      role: "viewer",
      expiresAt: new Date(Date.now() + 4000),
    });
    const ws = await openWs(`ws://${base}/ws`, h.bearer(t.token));
    ws.send({ type: "subscribe" });
    await ws.next((m) => m.type === "snapshot");
    expect(await ws.closed).toBe(1008);
    await expect(openWs(`ws://${base}/ws`, h.bearer(t.token))).rejects.toThrow("HTTP 401");
  });

  it("creates an integration account that subscribes over MQTT; refuses a vehicle's name", async () => {
    const res = await post("/api/integrations", { name: "dashboard-1" });
    expect(res.statusCode).toBe(201);
    const creds = res.json();
    expect(creds.username).toBe("dashboard-1");
    const client = await mqtt.connectAsync(
      p.mqttUrl,
      withClientId({ username: creds.username, password: creds.password, reconnectPeriod: 0 }),
    );
    const granted = await client.subscribeAsync("fleet/#", { qos: 1 });
    expect(granted[0]?.qos).toBe(1);
    await client.endAsync(true);

    await addVehicle(p.pool, { id: "truck-named" });
    const clash = await post("/api/integrations", { name: "truck-named" });
    expect(clash.statusCode).toBe(409);
    expect((await post("/api/integrations", { name: "dashboard-1" })).statusCode).toBe(409);
  });

  it("refuses every create to a viewer (403)", async () => {
    for (const [url, body] of [
      ["/api/users", { username: "v-user", role: "admin", password: "password1" }],
      ["/api/users/ops.anna/password", { password: "password1" }],
      ["/api/tokens", { name: "v", role: "admin" }],
      ["/api/integrations", { name: "v-int" }],
    ] as const)
      expect((await post(url, body, viewer)).statusCode).toBe(403);
    expect((await login("ops.anna", "password1")).statusCode).toBe(401);
  });

  it("answers a new vehicle with its connection settings for each enabled listener", async () => {
    const res = await post("/api/vehicles", { id: "conn-1", imei: "356307042449999" });
    const kinds = res.json().connections.map((c: { kind: string }) => c.kind);
    expect(kinds).toEqual(["mqtt", "mqtt-ws", "owntracks", "owntracks-http"]);
    expect(res.json().connections[0]).toMatchObject({
      url: `mqtt://localhost:${h.config.MQTT_PORT}`,
      settings: expect.arrayContaining([{ name: "Topic", value: "fleet/conn-1/location" }]),
    });
    // with OSMAND_PORT on, Traccar Client's entry: the server URL; the device key is in the credentials
    const withOsmAnd = deviceConnections(
      { ...h.config, OSMAND_PORT: 5055 },
      { hostname: "fleet.example", protocol: "https", host: "fleet.example" },
      { id: "conn-1", imei: null },
    );
    expect(withOsmAnd.at(-1)).toMatchObject({ kind: "osmand", url: "http://fleet.example:5055" });
    expect(res.json().credentials.deviceKey).toMatch(/^[a-z2-7]{26}$/);
  });

  it("lists Traccar Client (OsmAnd) with its port when OSMAND_PORT is set", async () => {
    const withOsmand = await startApi({ platform: p, env: { OSMAND_PORT: "5055" } });
    try {
      const res = await withOsmand.app.inject({
        method: "POST",
        url: "/api/vehicles",
        headers: withOsmand.bearer(withOsmand.adminToken),
        payload: { id: "conn-2" },
      });
      expect(res.statusCode).toBe(201);
      const osmand = res.json().connections.find((c: { kind: string }) => c.kind === "osmand");
      expect(osmand).toMatchObject({
        url: "http://localhost:5055",
        settings: expect.arrayContaining([
          { name: "Device identifier", value: expect.stringContaining("deviceKey") },
        ]),
      });
      expect(res.json().credentials.deviceKey).toEqual(expect.any(String));
    } finally {
      await withOsmand.close();
    }
  });
});
