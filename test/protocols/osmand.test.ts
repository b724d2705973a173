import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeviceKeyCache } from "../../api/device-key-cache.ts";
import { listenOsmAnd, type OsmAndListener } from "../../api/osmand-listener.ts";
import { newDeviceKey } from "../../core/credentials.ts";
import { createLogger } from "../../core/logger.ts";
import { labelledField } from "../../core/metrics-catalogue.ts";
import { redisKeys } from "../../core/redis.ts";
import { createVehicleAdmin } from "../../core/vehicle-admin.ts";
import { addVehicle, type DeviceCredentials } from "../../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";
import { storedFixes, waitForFixes } from "./clients.ts";

/** The OsmAnd listener (Traccar Client) on a real port, through the platform's bridge and worker. */
describe("OsmAnd protocol (Traccar Client) on OSMAND_PORT", () => {
  let p: TestPlatform;
  let osmand: OsmAndListener;
  /** the main listener's subscriber connection, which carries the brokers' revokes to its key cache */
  let subscriber: ReturnType<TestPlatform["connection"]>;
  let base: string;
  const nowS = () => Math.floor(Date.now() / 1000);

  const listen = (rateLimit: number, refusals = 1000, sub = p.connection()) =>
    listenOsmAnd({
      port: 0,
      host: "127.0.0.1",
      pool: p.pool,
      bridge: p.bridge,
      redis: p.redis,
      subscriber: sub,
      config: {
        MAX_PAYLOAD_BYTES: p.config.MAX_PAYLOAD_BYTES,
        HTTP_INGEST_RATE_LIMIT: rateLimit,
        OSMAND_KEY_REFUSALS_PER_MINUTE: refusals,
      },
      log: createLogger("osmand-test", p.config.LOG_LEVEL),
    });

  beforeAll(async () => {
    p = await startPlatform();
    subscriber = p.connection();
    osmand = await listen(10_000, 1000, subscriber);
    base = `http://127.0.0.1:${osmand.port}`;
  });
  afterAll(async () => {
    await osmand?.close();
    await p?.close();
  });

  const get = (query: Record<string, string | number>, path = "/") =>
    fetch(
      `${base}${path}?${new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)] as [string, string]))}`,
    );
  const postJson = (body: unknown) =>
    fetch(`${base}/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  const attributesOf = async (vehicleId: string) =>
    (
      await p.pool.query<{ attributes: Record<string, unknown> | null }>(
        "SELECT attributes FROM vehicle_locations WHERE vehicle_id = $1 ORDER BY recorded_at",
        [vehicleId],
      )
    ).rows.map((r) => r.attributes);
  const deadLetters = (vehicleId: string, n: number) =>
    waitFor(
      async () =>
        (
          await p.pool.query<{ topic: string; reason: string; payload: string }>(
            "SELECT topic, reason, payload FROM rejected_messages WHERE vehicle_id = $1 ORDER BY id",
            [vehicleId],
          )
        ).rows,
      (rows) => rows.length >= n,
      { timeoutMs: 20_000, what: `${n} dead letter(s) of ${vehicleId}` },
    );
  /**
   * Runs `change` and resolves once the listener's subscriber has delivered the revoke it sends for
   * `vehicleId`. A revoke travels over Redis pub/sub, so the next request may otherwise arrive first;
   * this handler, registered after the listener's on the same connection, runs after it in one emit.
   */
  const revoked = async <T>(vehicleId: string, change: () => Promise<T>): Promise<T> => {
    let onMessage = (_channel: string, _raw: string) => {};
    let timer: NodeJS.Timeout | undefined;
    const delivered = new Promise<void>((resolve, reject) => {
      onMessage = (_channel, raw) => {
        if (raw.includes('"revoke"') && raw.includes(JSON.stringify(vehicleId))) resolve();
      };
      subscriber.on("message", onMessage);
      timer = setTimeout(() => reject(new Error(`no revoke of ${vehicleId} within 10 s`)), 10_000);
    });
    try {
      const result = await change();
      await delivered;
      return result;
    } finally {
      clearTimeout(timer);
      subscriber.off("message", onMessage);
    }
  };
  const counted = async (outcome: string) =>
    Number((await p.redis.hget(redisKeys.metrics, labelledField("osmand_requests", outcome))) ?? 0);

  it("stores the query form (GET) as Traccar Client sends it: speed in knots, timestamp in seconds", async () => {
    const phone = await addVehicle(p.pool, { id: "osm-query" });
    const ts = nowS() - 60;
    const res = await get({
      id: phone.deviceKey,
      lat: 25.2048,
      lon: 55.2708,
      timestamp: ts,
      speed: 10,
      bearing: 90.5,
      altitude: 12,
      accuracy: 4.5,
      batt: 77,
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
    const [row] = await waitForFixes(p.pool, phone.id, 1);
    expect(row).toMatchObject({
      lat: 25.2048,
      lng: 55.2708,
      recordedAt: ts * 1000,
      heading: 90.5,
      altitude: 12,
    });
    // 10 knots is 18.52 km/h (the column is a real)
    expect(row?.speed).toBeCloseTo(18.52, 3);
    expect(await attributesOf(phone.id)).toEqual([{ batt: 77 }]);
  });

  it("stores the form body (POST) and an ISO or 'yyyy-MM-dd HH:mm:ss' timestamp, on any path", async () => {
    const phone = await addVehicle(p.pool, { id: "osm-form" });
    const iso = new Date((nowS() - 120) * 1000).toISOString();
    const spaced = new Date((nowS() - 90) * 1000).toISOString().slice(0, 19).replace("T", " ");
    const form = (ts: string) =>
      new URLSearchParams({ deviceid: phone.deviceKey, lat: "25.1", lon: "55.1", timestamp: ts }).toString();
    for (const [path, ts] of [
      ["/", iso],
      ["/track", spaced],
    ] as const) {
      const res = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form(ts),
      });
      expect(res.status, `${path} ${ts}`).toBe(200);
    }
    const rows = await waitForFixes(p.pool, phone.id, 2);
    expect(rows.map((r) => r.recordedAt)).toEqual([
      Date.parse(iso),
      Date.parse(`${spaced.replace(" ", "T")}Z`),
    ]);
  });

  it("stores the JSON body of Traccar Client 9+: speed in m/s, -1 as unknown, battery 0..1", async () => {
    const phone = await addVehicle(p.pool, { id: "osm-json" });
    const timestamp = new Date(Date.now() - 30_000).toISOString();
    const body = (coords: Record<string, number>, at = timestamp) => ({
      location: {
        timestamp: at,
        coords: { latitude: 25.3, longitude: 55.4, accuracy: 6, altitude: 20, ...coords },
        is_moving: true,
        odometer: 1234.5,
        event: "motionchange",
        battery: { level: 0.42, is_charging: false },
        activity: { type: "in_vehicle" },
        extras: {},
        _: `&id=${phone.deviceKey}&lat=25.3&lon=55.4&timestamp=${at}&`,
      },
      device_id: phone.deviceKey,
    });
    expect((await postJson(body({ speed: 10, heading: 45 }))).status).toBe(200);
    const later = new Date(Date.now() - 20_000).toISOString();
    expect((await postJson(body({ speed: -1, heading: -1 }, later))).status).toBe(200);
    const rows = await waitForFixes(p.pool, phone.id, 2);
    expect(rows[0]).toMatchObject({ lat: 25.3, lng: 55.4, recordedAt: Date.parse(timestamp), heading: 45 });
    expect(rows[0]?.speed).toBeCloseTo(36, 3);
    expect(rows[1]).toMatchObject({ speed: null, heading: null });
    expect((await attributesOf(phone.id))[0]).toEqual({
      batt: 42,
      charge: false,
      motion: true,
      odometerM: 1234.5,
      event: "motionchange",
      activity: "in_vehicle",
    });
  });

  it("refuses a missing, unknown or rotated key with 403 and records nothing", async () => {
    const phone = await addVehicle(p.pool, { id: "osm-rotate" });
    const fix = { lat: 25, lon: 55, timestamp: nowS() - 10 };
    const refusedBefore = await counted("key_refused");
    for (const query of [fix, { ...fix, id: "a".repeat(26) }, { ...fix, id: phone.password }]) {
      const res = await get(query);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: "E_DEVICE_KEY_REFUSED" });
    }
    const admin = createVehicleAdmin({ pool: p.pool, redis: p.redis });
    const rotated = (await revoked(phone.id, () => admin.rotate(phone.id))) as DeviceCredentials;
    expect((await get({ ...fix, id: phone.deviceKey })).status).toBe(403);
    expect((await get({ ...fix, id: rotated.deviceKey })).status).toBe(200);
    // as PATCH /api/vehicles/:id does (api/routes/vehicle-patch.ts): the cached key is dropped
    await p.pool.query("UPDATE vehicles SET status = 'inactive' WHERE id = $1", [phone.id]);
    await revoked(phone.id, () => admin.statusChanged(phone.id, "active", "inactive"));
    expect((await get({ ...fix, timestamp: nowS() - 5, id: rotated.deviceKey })).status).toBe(403);
    expect(await counted("key_refused")).toBe(refusedBefore + 5);
    expect(await waitForFixes(p.pool, phone.id, 1)).toHaveLength(1);
    const dead = await p.pool.query("SELECT 1 FROM rejected_messages WHERE vehicle_id = $1", [phone.id]);
    expect(dead.rowCount).toBe(0);
  });

  it("answers bad input 400 with its reason code and dead-letters it, without the key", async () => {
    const phone = await addVehicle(p.pool, { id: "osm-bad" });
    const rejectedBefore = await counted("rejected");
    const cases: [() => Promise<Response>, string][] = [
      [() => get({ id: phone.deviceKey, lat: 91, lon: 55, timestamp: nowS() }), "E_OUT_OF_RANGE"],
      [() => get({ id: phone.deviceKey, lat: 25, lon: 55 }), "E_MISSING_FIELD"],
      [() => get({ id: phone.deviceKey, lat: "north", lon: 55, timestamp: nowS() }), "E_BAD_TYPE"],
      [
        () => postJson({ device_id: phone.deviceKey, location: { timestamp: "x", coords: {} } }),
        "E_MISSING_FIELD",
      ],
    ];
    for (const [send, reason] of cases) {
      const res = await send();
      expect(res.status, reason).toBe(400);
      expect(await res.json()).toMatchObject({ code: "E_FIX_REJECTED", reason });
    }
    // a body that is not JSON, from a device the query names
    const broken = await fetch(`${base}/?id=${phone.deviceKey}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"location": ',
    });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ code: "E_FIX_REJECTED", reason: "E_BAD_JSON" });
    const rows = await deadLetters(phone.id, 5);
    expect(rows.map((r) => r.reason)).toEqual([
      "E_OUT_OF_RANGE",
      "E_MISSING_FIELD",
      "E_BAD_TYPE",
      "E_MISSING_FIELD",
      "E_BAD_JSON",
    ]);
    for (const r of rows) {
      expect(r.topic).toBe(`osmand/${phone.id}`);
      expect(r.payload).not.toContain(phone.deviceKey);
    }
    expect(await counted("rejected")).toBe(rejectedBefore + 5);
    expect(await storedFixes(p.pool, phone.id)).toHaveLength(0);
  });

  it("answers JSON nested thousands deep 400 with a reason and a dead letter (403 with a bad key), never 500", async () => {
    const phone = await addVehicle(p.pool, { id: "osm-deep" });
    const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
    const [rejectedBefore, refusedBefore] = [await counted("rejected"), await counted("key_refused")];
    const res = await postJson(`{"device_id":"${phone.deviceKey}","x":${deep(5000)}}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "E_FIX_REJECTED", reason: expect.stringMatching(/^E_/) });
    const inLocation = await postJson(
      `{"device_id":"${phone.deviceKey}","location":{"timestamp":"2026-01-01T00:00:00Z","coords":{"latitude":${deep(5000)},"longitude":55}}}`,
    );
    expect(inLocation.status).toBe(400);
    const [first, second] = await deadLetters(phone.id, 2);
    expect(first?.payload).toContain("nested too deep to show");
    expect(second?.payload).not.toContain(phone.deviceKey);
    expect(await counted("rejected")).toBe(rejectedBefore + 2);
    const badKey = await postJson(`{"device_id":"nobody","x":${deep(5000)}}`);
    expect(badKey.status).toBe(403);
    expect(await counted("key_refused")).toBe(refusedBefore + 1);
  });

  it("counts a body beyond its limit (413) and headers beyond Node's (431) under their own labels", async () => {
    const phone = await addVehicle(p.pool, { id: "osm-big" });
    const [bigBefore, headersBefore] = [await counted("too_large"), await counted("headers_too_large")];
    const big = await fetch(`${base}/?id=${phone.deviceKey}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"x":"${"a".repeat(p.config.MAX_PAYLOAD_BYTES * 2 + 1)}"}`,
    });
    expect(big.status).toBe(413);
    const headers = await fetch(`${base}/?id=${phone.deviceKey}`, {
      headers: { "x-big": "a".repeat(20_000) },
    });
    expect(headers.status).toBe(431);
    await waitFor(
      async () => [await counted("too_large"), await counted("headers_too_large")],
      ([b, h]) => b === bigBefore + 1 && h === headersBefore + 1,
      { what: "the 413 and the 431 counted" },
    );
  });

  it("limits each vehicle to HTTP_INGEST_RATE_LIMIT requests a minute; others keep their budget", async () => {
    const limited = await listen(2);
    try {
      const [a, b] = [
        await addVehicle(p.pool, { id: "osm-rate-a" }),
        await addVehicle(p.pool, { id: "osm-rate-b" }),
      ];
      const send = (v: DeviceCredentials, k: number) =>
        fetch(
          `http://127.0.0.1:${limited.port}/?${new URLSearchParams({ id: v.deviceKey, lat: "25", lon: "55", timestamp: String(nowS() - 100 + k) })}`,
        );
      const limitedBefore = await counted("rate_limited");
      expect((await send(a, 0)).status).toBe(200);
      expect((await send(a, 1)).status).toBe(200);
      const third = await send(a, 2);
      expect(third.status).toBe(429);
      expect(await third.json()).toMatchObject({ code: "E_RATE_LIMITED" });
      // counted once the answer is out (onResponse)
      await waitFor(
        () => counted("rate_limited"),
        (n) => n === limitedBefore + 1,
        { what: "the 429 counted" },
      );
      expect((await send(b, 0)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it("drops a cached key at once when the vehicle's key is rotated, the vehicle removed or deactivated", async () => {
    const admin = createVehicleAdmin({ pool: p.pool, redis: p.redis });
    const fix = (id: string, k: number) => ({ id, lat: 25, lon: 55, timestamp: nowS() - 200 + k });
    const [rotating, removed, paused] = [
      await addVehicle(p.pool, { id: "osm-cache-rotate" }),
      await addVehicle(p.pool, { id: "osm-cache-remove" }),
      await addVehicle(p.pool, { id: "osm-cache-pause" }),
    ];
    // each key is known (cached) before the change
    for (const v of [rotating, removed, paused]) expect((await get(fix(v.deviceKey, 0))).status).toBe(200);
    for (const v of [rotating, removed, paused]) expect((await get(fix(v.deviceKey, 1))).status).toBe(200);

    const rotated = (await revoked(rotating.id, () => admin.rotate(rotating.id))) as DeviceCredentials;
    expect((await get(fix(rotating.deviceKey, 2))).status).toBe(403);
    expect((await get(fix(rotated.deviceKey, 3))).status).toBe(200);

    expect(await revoked(removed.id, () => admin.remove(removed.id))).toBe(true);
    expect((await get(fix(removed.deviceKey, 2))).status).toBe(403);

    await p.pool.query("UPDATE vehicles SET status = 'inactive' WHERE id = $1", [paused.id]);
    await revoked(paused.id, () => admin.statusChanged(paused.id, "active", "inactive"));
    expect((await get(fix(paused.deviceKey, 2))).status).toBe(403);
    // active again: its refusal (cached as an unknown key) is dropped too, it need not lapse
    await p.pool.query("UPDATE vehicles SET status = 'active' WHERE id = $1", [paused.id]);
    await revoked(paused.id, () => admin.statusChanged(paused.id, "inactive", "active"));
    expect((await get(fix(paused.deviceKey, 3))).status).toBe(200);
  });

  it("limits refused keys per source address: a guessing loop gets 429, a device elsewhere 200", async () => {
    const limited = await listen(10_000, 3);
    try {
      const [known, other, behindNat] = [
        await addVehicle(p.pool, { id: "osm-guess-known" }),
        await addVehicle(p.pool, { id: "osm-guess-other" }),
        await addVehicle(p.pool, { id: "osm-guess-nat" }),
      ];
      const send = (from: string, id: string, k: number) =>
        getFrom(limited.port, from, { id, lat: "25", lon: "55", timestamp: String(nowS() - 300 + k) });
      // a phone that reported from the guesser's address before the guessing began
      expect((await send("127.0.0.1", known.deviceKey, 0)).status).toBe(200);
      const limitedBefore = await counted("address_limited");
      const answers: number[] = [];
      let last: { status: number; body: string; retryAfter: string | undefined } | undefined;
      for (let i = 0; i < 10; i++) {
        last = await send("127.0.0.1", newDeviceKey(), i);
        answers.push(last.status);
      }
      expect(answers).toEqual([403, 403, 403, 429, 429, 429, 429, 429, 429, 429]);
      expect(JSON.parse(last?.body ?? "{}")).toMatchObject({ code: "E_DEVICE_KEY_REFUSALS" });
      expect(Number(last?.retryAfter)).toBeGreaterThan(0);
      expect(await counted("address_limited")).toBe(limitedBefore + 7);
      // another address is not limited; a key this process knows passes from the limited one;
      // a valid key it does not know yet waits there like the guesses (no lookup is made)
      expect((await send("127.0.0.2", other.deviceKey, 1)).status).toBe(200);
      expect((await send("127.0.0.1", known.deviceKey, 1)).status).toBe(200);
      expect((await send("127.0.0.1", behindNat.deviceKey, 1)).status).toBe(429);
    } finally {
      await limited.close();
    }
  });

  it("keeps a bounded number of device keys, found and unknown", async () => {
    const cache = createDeviceKeyCache(p.pool, { maxEntries: 3 });
    const phones = await p.register("osm-bound", 5);
    for (const v of phones) expect(await cache.vehicleOf(v.deviceKey)).toBe(v.id);
    for (let i = 0; i < 20; i++) expect(await cache.vehicleOf(newDeviceKey())).toBeUndefined();
    expect(cache.size).toBe(6);
    // the oldest went first; the latest are still answered without a lookup
    expect(phones.map((v) => cache.cachedVehicleOf(v.deviceKey))).toEqual([
      undefined,
      undefined,
      "osm-bound-2",
      "osm-bound-3",
      "osm-bound-4",
    ]);
    // a malformed key is neither looked up nor kept
    expect(await cache.vehicleOf("not-a-device-key")).toBeUndefined();
    expect(cache.size).toBe(6);
  });
});

/** A GET from a chosen local address (127.0.0.0/8 is all loopback), as a second client host would send it. */
function getFrom(
  port: number,
  localAddress: string,
  query: Record<string, string>,
): Promise<{ status: number; body: string; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, localAddress, path: `/?${new URLSearchParams(query)}`, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            retryAfter: res.headers["retry-after"] as string | undefined,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}
