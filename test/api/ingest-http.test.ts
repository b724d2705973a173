import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeviceCredentials } from "../../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";
import { type ApiHarness, startApi } from "./harness.ts";

const basic = (c: { username: string; password: string }) => ({
  authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`,
  "content-type": "application/json",
});

describe("HTTP ingest (POST /api/location, /api/locations) and the dead letter", () => {
  let p: TestPlatform;
  let h: ApiHarness;
  let dev: DeviceCredentials;
  let other: DeviceCredentials;

  beforeAll(async () => {
    p = await startPlatform();
    h = await startApi({ platform: p, env: { HTTP_INGEST_RATE_LIMIT: "1000" } });
    [dev, other] = (await p.register("http", 2)) as [DeviceCredentials, DeviceCredentials];
  });
  afterAll(async () => {
    await h?.close();
    await p?.close();
  });

  const post = (url: string, body: string, creds = dev) =>
    h.app.inject({ method: "POST", url, headers: basic(creds), payload: body });
  const stored = async (id: string) =>
    (
      await p.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM vehicle_locations WHERE vehicle_id = $1",
        [id],
      )
    ).rows[0]?.n ?? 0;

  it("stores one fix through the bridge and answers 202 once it is queued", async () => {
    const fix = { lat: 25.2, lng: 55.3, recordedAt: Date.now() - 5000, speed: 30, messageId: "http-one" };
    const res = await post("/api/location", JSON.stringify(fix));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: 1, rejected: 0, rejects: [] });
    await waitFor(
      () => stored(dev.id),
      (n) => n === 1,
      { what: "the fix in PostGIS" },
    );
    const row = await p.pool.query(
      "SELECT message_id, ST_X(location) AS x FROM vehicle_locations WHERE vehicle_id = $1",
      [dev.id],
    );
    expect(row.rows[0]).toEqual({ message_id: "http-one", x: 55.3 });
  });

  it("stores the valid elements of an upload and records each bad one in the dead letter", async () => {
    const t = Date.now() - 60_000;
    const batch = [
      { lat: 25, lng: 55, recordedAt: t },
      { lat: 95, lng: 55, recordedAt: t + 1000 },
      { lat: 25.1, lng: 55.1, recordedAt: t + 2000 },
      { lng: 55, recordedAt: t + 3000 },
    ];
    const res = await post("/api/locations", JSON.stringify(batch), other);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ accepted: 2, rejected: 2 });
    expect(res.json().rejects.map((r: { reason: string }) => r.reason)).toEqual([
      "E_OUT_OF_RANGE",
      "E_MISSING_FIELD",
    ]);
    await waitFor(
      () => stored(other.id),
      (n) => n === 2,
      { what: "two fixes stored" },
    );

    const dead = await waitFor(
      async () =>
        (
          await h.app.inject({ url: `/api/rejected?vehicleId=${other.id}`, headers: h.bearer(h.viewerToken) })
        ).json(),
      (b) => b.items.length === 2,
      { what: "two rejects in the dead letter" },
    );
    expect(dead.items.map((r: { reason: string }) => r.reason).sort()).toEqual([
      "E_MISSING_FIELD",
      "E_OUT_OF_RANGE",
    ]);
    expect(dead.items[0]).toMatchObject({ vehicleId: other.id, topic: `fleet/${other.id}/locations` });
  });

  it("records a body that is not JSON as E_BAD_JSON (202, not stored)", async () => {
    const res = await post("/api/location", "{not json", dev);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ accepted: 0, rejected: 1, rejects: [{ reason: "E_BAD_JSON" }] });
    const dead = await waitFor(
      async () =>
        (
          await h.app.inject({
            url: `/api/rejected?reason=E_BAD_JSON&limit=5`,
            headers: h.bearer(h.adminToken),
          })
        ).json(),
      (b) => b.items.length === 1,
      { what: "the bad JSON in the dead letter" },
    );
    expect(dead.items[0]).toMatchObject({ vehicleId: dev.id, payload: "{not json", reason: "E_BAD_JSON" });
  });

  it("pages the dead letter newest first and validates its parameters", async () => {
    const first = (
      await h.app.inject({ url: "/api/rejected?limit=2", headers: h.bearer(h.viewerToken) })
    ).json();
    expect(first.items).toHaveLength(2);
    expect(first.items[0].id).toBeGreaterThan(first.items[1].id);
    const next = (
      await h.app.inject({
        url: `/api/rejected?limit=2&cursor=${first.nextCursor}`,
        headers: h.bearer(h.viewerToken),
      })
    ).json();
    expect(next.items[0].id).toBeLessThan(first.items[1].id);
    for (const [q, field] of [
      ["limit=5000", "querystring.limit"],
      ["reason=E_NOPE", "querystring.reason"],
      ["cursor=abc", "querystring.cursor"],
    ]) {
      const res = await h.app.inject({ url: `/api/rejected?${q}`, headers: h.bearer(h.viewerToken) });
      expect(res.statusCode).toBe(400);
      expect(res.json().field).toBe(field);
    }
    expect((await h.app.inject({ url: "/api/rejected" })).statusCode).toBe(401);
  });

  it("refuses a wrong secret, another vehicle's secret, a user token and no credentials (401)", async () => {
    const fix = JSON.stringify({ lat: 1, lng: 1, recordedAt: Date.now() });
    const wrong = await post("/api/location", fix, { ...dev, password: "not-the-secret" });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers["www-authenticate"]).toMatch(/^Basic/);
    expect((await post("/api/location", fix, { ...dev, password: other.password })).statusCode).toBe(401);
    const token = await h.app.inject({
      method: "POST",
      url: "/api/location",
      headers: h.bearer(h.adminToken),
      payload: fix,
    });
    expect(token.statusCode).toBe(401);
    expect((await h.app.inject({ method: "POST", url: "/api/location", payload: fix })).statusCode).toBe(401);
  });

  it("rate-limits ingest per device and address (429)", async () => {
    const limited = await startApi({ platform: p, env: { HTTP_INGEST_RATE_LIMIT: "2" } });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) {
        const body = JSON.stringify({ lat: 1, lng: 1, recordedAt: Date.now() - 10_000 - i });
        codes.push(
          (
            await limited.app.inject({
              method: "POST",
              url: "/api/location",
              headers: basic(dev),
              payload: body,
            })
          ).statusCode,
        );
      }
      expect(codes).toEqual([202, 202, 429, 429]);
      // another vehicle has a budget of its own
      const body = JSON.stringify({ lat: 1, lng: 1, recordedAt: Date.now() - 20_000 });
      expect(
        (
          await limited.app.inject({
            method: "POST",
            url: "/api/location",
            headers: basic(other),
            payload: body,
          })
        ).statusCode,
      ).toBe(202);
    } finally {
      await limited.close();
    }
  });
});
