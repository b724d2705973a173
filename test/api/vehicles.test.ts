import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveKeys } from "../../core/live-state.ts";
import { type ApiHarness, startApi } from "./harness.ts";

describe("vehicles API", () => {
  let h: ApiHarness;
  let admin: { authorization: string };
  let viewer: { authorization: string };

  beforeAll(async () => {
    h = await startApi();
    admin = h.bearer(h.adminToken);
    viewer = h.bearer(h.viewerToken);
  });
  afterAll(() => h?.close());

  const register = (id: string, extra: Record<string, unknown> = {}) =>
    h.app.inject({ method: "POST", url: "/api/vehicles", headers: admin, payload: { id, ...extra } });

  it("registers a vehicle and returns its credentials once, with a ready mosquitto_pub line", async () => {
    const res = await register("veh-1", { name: "Truck 1", plate: "D 12345", imei: "356307042441013" });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      id: "veh-1",
      name: "Truck 1",
      plate: "D 12345",
      status: "active",
      version: 1,
    });
    expect(body.credentials.username).toBe("veh-1");
    expect(body.credentials.password).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(body.mqtt.example).toContain(`-u 'veh-1' -P '${body.credentials.password}'`);
    expect(body.mqtt.example).toContain("fleet/veh-1/location");
    expect(res.headers.location).toBe("/api/vehicles/veh-1");
    const again = await h.app.inject({ method: "GET", url: "/api/vehicles/veh-1", headers: admin });
    expect(again.json()).not.toHaveProperty("credentials");
  });

  it("refuses a second vehicle with the same id (409)", async () => {
    await register("veh-dup");
    const res = await register("veh-dup");
    expect(res.statusCode).toBe(409);
  });

  it("answers 400 naming the field for a bad id, imei or unknown body", async () => {
    const bad = await register("no spaces allowed");
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ field: "body.id" });
    const imei = await register("veh-imei", { imei: "12ab" });
    expect(imei.statusCode).toBe(400);
    expect(imei.json().message).toMatch(/^body\.imei: /);
  });

  it("lets a viewer read but not register (403), and nobody without credentials (401)", async () => {
    expect((await h.app.inject({ method: "GET", url: "/api/vehicles", headers: viewer })).statusCode).toBe(
      200,
    );
    const post = await h.app.inject({
      method: "POST",
      url: "/api/vehicles",
      headers: viewer,
      payload: { id: "v-x" },
    });
    expect(post.statusCode).toBe(403);
    expect((await h.app.inject({ method: "GET", url: "/api/vehicles" })).statusCode).toBe(401);
    const wrong = { authorization: "Bearer lt_this-token-does-not-exist" };
    expect((await h.app.inject({ method: "GET", url: "/api/vehicles", headers: wrong })).statusCode).toBe(
      401,
    );
  });

  it("lists vehicles in pages with their latest state from Redis", async () => {
    for (const id of ["page-a", "page-b", "page-c"]) await register(id);
    const live = {
      vehicleId: "page-b",
      recordedAt: 1_700_000_000_000,
      lat: 25.1,
      lng: 55.2,
      receivedAt: 1_700_000_000_100,
    };
    await h.redis.hset(liveKeys.live, "page-b", JSON.stringify(live));
    const first = await h.app.inject({ url: "/api/vehicles?limit=2&cursor=page-", headers: viewer });
    expect(first.statusCode).toBe(200);
    const p1 = first.json();
    expect(p1.items.map((v: { id: string }) => v.id)).toEqual(["page-a", "page-b"]);
    expect(p1.items[0].live).toBeNull();
    expect(p1.items[1].live).toEqual(live);
    const second = await h.app.inject({
      url: `/api/vehicles?limit=2&cursor=${p1.nextCursor}`,
      headers: viewer,
    });
    const p2 = second.json();
    expect(p2.items.map((v: { id: string }) => v.id)[0]).toBe("page-c");
    const bad = await h.app.inject({ url: "/api/vehicles?limit=0", headers: viewer });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe("querystring.limit");
  });

  it("answers 404 for an unknown vehicle", async () => {
    for (const [method, url] of [
      ["GET", "/api/vehicles/nobody"],
      ["DELETE", "/api/vehicles/nobody"],
      ["POST", "/api/vehicles/nobody/credentials"],
    ] as const) {
      expect((await h.app.inject({ method, url, headers: admin })).statusCode).toBe(404);
    }
  });

  it("removes a vehicle and its live state", async () => {
    await register("gone");
    await h.redis.hset(
      liveKeys.live,
      "gone",
      JSON.stringify({ vehicleId: "gone", lat: 1, lng: 1, recordedAt: 1 }),
    );
    await h.redis.geoadd(liveKeys.geo, 1, 1, "gone");
    const res = await h.app.inject({ method: "DELETE", url: "/api/vehicles/gone", headers: admin });
    expect(res.statusCode).toBe(204);
    expect((await h.app.inject({ url: "/api/vehicles/gone", headers: admin })).statusCode).toBe(404);
    expect(await h.redis.hget(liveKeys.live, "gone")).toBeNull();
    expect(await h.redis.geopos(liveKeys.geo, "gone")).toEqual([null]);
    const viewerDelete = await h.app.inject({
      method: "DELETE",
      url: "/api/vehicles/veh-1",
      headers: viewer,
    });
    expect(viewerDelete.statusCode).toBe(403);
  });

  it("issues new credentials on rotation, different from the first", async () => {
    const first = (await register("rot-1")).json().credentials.password;
    const res = await h.app.inject({
      method: "POST",
      url: "/api/vehicles/rot-1/credentials",
      headers: admin,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().credentials.username).toBe("rot-1");
    expect(res.json().credentials.password).not.toBe(first);
  });
});
