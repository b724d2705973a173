import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "../../core/users.ts";
import { type ApiHarness, startApi } from "./harness.ts";

const PAYLOADS = [
  "' OR '1'='1",
  "1; DROP TABLE vehicles; --",
  "x'); DELETE FROM geofences; --",
  "1 OR 1=1",
  "$1",
  "\\'; UPDATE vehicles SET version = 99; --",
  "%27%20OR%201%3D1",
];

/** Everything the API could damage or leak, as one comparable value. */
async function snapshot(h: ApiHarness) {
  const q = async (sql: string) => (await h.pool.query(sql)).rows;
  return {
    vehicles: await q(
      "SELECT id, name, plate, imei, status, version, encode(credential_hash, 'hex') AS h FROM vehicles ORDER BY id",
    ),
    geofences: await q("SELECT id::text, name, ST_AsText(polygon) AS g, version FROM geofences ORDER BY id"),
    users: await q("SELECT username, role, password_hash FROM users ORDER BY username"),
    tokens: await q("SELECT name, role FROM api_tokens ORDER BY id"),
    sessions: await q("SELECT count(*)::int AS n FROM sessions"),
    rejected: await q("SELECT count(*)::int AS n FROM rejected_messages"),
    tables: await q("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"),
  };
}

describe("SQL injection strings in every parameter change nothing", () => {
  let h: ApiHarness;
  let admin: { authorization: string };
  let geofenceId: number;

  beforeAll(async () => {
    h = await startApi({ env: { LOGIN_RATE_LIMIT: "10000", HTTP_INGEST_RATE_LIMIT: "10000" } });
    admin = h.bearer(h.adminToken);
    await addUser(h.pool, { username: "keeper", password: "keeper password", role: "admin" });
    for (const id of ["sqli-1", "sqli-2"]) {
      await h.app.inject({ method: "POST", url: "/api/vehicles", headers: admin, payload: { id, name: id } });
    }
    const square = [
      [
        [1, 1],
        [2, 1],
        [2, 2],
        [1, 2],
        [1, 1],
      ],
    ];
    const g = await h.app.inject({
      method: "POST",
      url: "/api/geofences",
      headers: admin,
      payload: {
        type: "Feature",
        geometry: { type: "Polygon", coordinates: square },
        properties: { name: "g" },
      },
    });
    geofenceId = g.json().id;
  });
  afterAll(() => h?.close());

  it("answers every injected identifier, filter, header and credential with a 4xx and leaves the data as it was", async () => {
    const before = await snapshot(h);
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date().toISOString();
    const fence = (name: string) => ({
      type: "Feature",
      geometry: {
        type: "Polygon",
        coordinates: [
          [
            [1, 1],
            [2, 1],
            [2, 2],
            [1, 1],
          ],
        ],
      },
      properties: { name },
    });
    for (const raw of PAYLOADS) {
      const s = encodeURIComponent(raw);
      const basic = `Basic ${Buffer.from(`${raw}:${raw}`).toString("base64")}`;
      const requests: {
        method?: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
        url: string;
        headers?: Record<string, string>;
        payload?: unknown;
      }[] = [
        { url: `/api/vehicles?limit=${s}`, headers: admin },
        { url: `/api/vehicles/${s}`, headers: admin },
        { method: "DELETE", url: `/api/vehicles/${s}`, headers: admin },
        { method: "POST", url: `/api/vehicles/${s}/credentials`, headers: admin },
        {
          method: "PATCH",
          url: `/api/vehicles/${s}`,
          headers: { ...admin, "if-match": "1" },
          payload: { name: "x" },
        },
        {
          method: "PATCH",
          url: "/api/vehicles/sqli-1",
          headers: { ...admin, "if-match": raw },
          payload: { name: "x" },
        },
        {
          method: "PATCH",
          url: "/api/vehicles/sqli-1",
          headers: { ...admin, "if-match": "1" },
          payload: { status: raw },
        },
        {
          method: "PATCH",
          url: "/api/vehicles/sqli-1",
          headers: { ...admin, "if-match": "1" },
          payload: { [raw]: "x" },
        },
        { method: "POST", url: "/api/vehicles", headers: admin, payload: { id: raw } },
        { method: "POST", url: "/api/vehicles", headers: admin, payload: { id: "sqli-new", imei: raw } },
        { url: `/api/vehicles/${s}/track?from=${from}&to=${to}`, headers: admin },
        { url: `/api/vehicles/sqli-1/track?from=${s}&to=${to}`, headers: admin },
        { url: `/api/vehicles/sqli-1/track?from=${from}&to=${s}`, headers: admin },
        { url: `/api/vehicles/sqli-1/track?from=${from}&to=${to}&format=${s}`, headers: admin },
        { url: `/api/vehicles/sqli-1/track?from=${from}&to=${to}&simplify=${s}`, headers: admin },
        { url: `/api/positions?bbox=${s}`, headers: admin },
        { url: `/api/positions?limit=${s}`, headers: admin },
        { url: `/api/geofences/${s}`, headers: admin },
        { url: `/api/geofences?cursor=${s}`, headers: admin },
        { method: "PUT", url: `/api/geofences/${s}`, headers: admin, payload: fence("x") },
        {
          method: "PUT",
          url: `/api/geofences/${geofenceId}`,
          headers: { ...admin, "if-match": raw },
          payload: fence("x"),
        },
        { method: "DELETE", url: `/api/geofences/${s}`, headers: admin },
        { url: `/api/rejected?cursor=${s}`, headers: admin },
        { url: `/api/rejected?vehicleId=${s}`, headers: admin },
        { url: `/api/rejected?reason=${s}`, headers: admin },
        { url: `/api/rejected?limit=${s}`, headers: admin },
        { method: "POST", url: "/api/auth/login", payload: { username: raw, password: raw } },
        { method: "POST", url: "/api/auth/login", payload: { username: "keeper", password: raw } },
        { method: "POST", url: "/api/auth/login", payload: { token: `${raw}${raw}${raw}` } },
        {
          url: "/api/vehicles",
          headers: { authorization: `Bearer ${raw.replaceAll(" ", "")}${"x".repeat(16)}` },
        },
        { url: "/api/vehicles", headers: { cookie: `lt_session=${s}` } },
        {
          method: "POST",
          url: "/api/location",
          headers: { authorization: basic },
          payload: { lat: 1, lng: 1, recordedAt: Date.now() },
        },
      ];
      for (const r of requests) {
        const res = await h.app.inject({
          method: r.method ?? "GET",
          url: r.url,
          headers: r.headers ?? {},
          payload: r.payload as object,
        });
        const label = `${r.method ?? "GET"} ${r.url} ${JSON.stringify(r.payload ?? "")} ${JSON.stringify(r.headers ?? {})}`;
        expect(res.statusCode, label).toBeGreaterThanOrEqual(400);
        expect(res.statusCode, label).toBeLessThan(500);
      }
    }
    expect(await snapshot(h)).toEqual(before);
  });

  it("stores injection strings in free-text fields verbatim, touching no other row", async () => {
    const before = await snapshot(h);
    let version = before.vehicles.find((v) => v.id === "sqli-2")?.version as number;
    for (const raw of PAYLOADS) {
      const res = await h.app.inject({
        method: "PATCH",
        url: "/api/vehicles/sqli-2",
        headers: { ...admin, "if-match": String(version) },
        payload: { name: raw, plate: raw.slice(0, 32) },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ name: raw, plate: raw.slice(0, 32) });
      version = res.json().version;
      const fence = await h.app.inject({
        method: "POST",
        url: "/api/geofences",
        headers: admin,
        payload: {
          type: "Feature",
          geometry: {
            type: "Polygon",
            coordinates: [
              [
                [5, 5],
                [6, 5],
                [6, 6],
                [5, 5],
              ],
            ],
          },
          properties: { name: raw },
        },
      });
      expect(fence.statusCode).toBe(201);
      expect(fence.json().properties.name).toBe(raw);
    }
    const after = await snapshot(h);
    expect(after.vehicles.filter((v) => v.id !== "sqli-2")).toEqual(
      before.vehicles.filter((v) => v.id !== "sqli-2"),
    );
    expect(after.geofences.slice(0, before.geofences.length)).toEqual(before.geofences);
    expect(after.geofences.slice(before.geofences.length).map((g) => g.name)).toEqual(PAYLOADS);
    expect(after.tables).toEqual(before.tables);
    expect(after.users).toEqual(before.users);
  });
});
