import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerRouteRules } from "../../api/route-rules.ts";
import { addToken } from "../../core/api-tokens.ts";
import type { DeviceCredentials } from "../../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";
import { type ApiHarness, startApi } from "./harness.ts";

/**
 * Every route and how it keeps a caller to the vehicles it may see (api/vehicle-scope.ts). A route
 * added later must be added here, with its rule: the first test compares this table with the routes
 * the app registered. Bull Board (/admin/queues/…) is checked as a whole: admins only.
 */
const ROUTES: [method: string, url: string, access: string, rule: string][] = [
  ["DELETE", "/api/alert-rules/:id", "operate", "fleet"],
  ["DELETE", "/api/geofences/:id", "operate", "fleet"],
  ["DELETE", "/api/groups/:id", "write", "admin"],
  ["DELETE", "/api/groups/:id/vehicles/:vehicleId", "write", "admin"],
  ["DELETE", "/api/integrations/:name", "write", "admin"],
  ["DELETE", "/api/notification-channels/:id", "write", "admin"],
  ["DELETE", "/api/tokens/:id", "write", "admin"],
  ["DELETE", "/api/users/:username", "write", "admin"],
  ["DELETE", "/api/vehicles/:id", "operate", "param"],
  ["GET", "/", "public", "public"],
  ["GET", "/api/alert-rules", "read", "fleet"],
  ["GET", "/api/alert-rules/:id", "read", "fleet"],
  ["GET", "/api/alerts", "read", "filtered"],
  ["GET", "/api/analytics/daily", "read", "filtered"],
  ["GET", "/api/anomalies", "read", "filtered"],
  ["GET", "/api/audit", "write", "admin"],
  ["GET", "/api/auth/me", "read", "none"],
  ["GET", "/api/auth/session", "public", "public"],
  ["GET", "/api/events", "read", "filtered"],
  ["GET", "/api/geofences", "read", "fleet"],
  ["GET", "/api/geofences/:id", "read", "fleet"],
  ["GET", "/api/geofences/:id/history", "read", "fleet"],
  ["GET", "/api/groups", "read", "filtered"],
  ["GET", "/api/groups/:id", "read", "filtered"],
  ["GET", "/api/integrations", "write", "admin"],
  ["GET", "/api/notification-channels", "read", "fleet"],
  ["GET", "/api/notification-channels/:id", "read", "fleet"],
  ["GET", "/api/notification-channels/:id/deliveries", "read", "fleet"],
  ["GET", "/api/positions", "read", "filtered"],
  ["GET", "/api/rejected", "read", "filtered"],
  ["GET", "/api/reports/stops", "read", "filtered"],
  ["GET", "/api/reports/summary", "read", "filtered"],
  ["GET", "/api/reports/trips", "read", "filtered"],
  ["GET", "/api/tokens", "write", "admin"],
  ["GET", "/api/ui/config", "read", "none"],
  ["GET", "/api/users", "write", "admin"],
  ["GET", "/api/vehicles", "read", "filtered"],
  ["GET", "/api/vehicles/:id", "read", "param"],
  ["GET", "/api/vehicles/:id/commands", "read", "param"],
  ["GET", "/api/vehicles/:id/commands/:commandId", "read", "param"],
  ["GET", "/api/vehicles/:id/track", "read", "param"],
  ["GET", "/api/vehicles/export.csv", "read", "filtered"],
  ["GET", "/docs/", "read", "none"],
  ["GET", "/docs/json", "read", "none"],
  ["GET", "/docs/static/*", "read", "none"],
  ["GET", "/docs/static/index.html", "read", "none"],
  ["GET", "/docs/static/swagger-initializer.js", "read", "none"],
  ["GET", "/docs/yaml", "read", "none"],
  ["GET", "/health", "public", "public"],
  ["GET", "/metrics", "read", "none"],
  ["GET", "/ws", "read", "filtered"],
  ["OPTIONS", "*", "write", "admin"],
  ["PATCH", "/api/alert-rules/:id", "operate", "fleet"],
  ["PATCH", "/api/groups/:id", "write", "admin"],
  ["PATCH", "/api/notification-channels/:id", "write", "admin"],
  ["PATCH", "/api/vehicles/:id", "operate", "param"],
  ["POST", "/api/alert-rules", "operate", "fleet"],
  ["POST", "/api/alerts/:id/ack", "operate", "filtered"],
  ["POST", "/api/alerts/ack", "operate", "filtered"],
  ["POST", "/api/auth/login", "public", "public"],
  ["POST", "/api/auth/logout", "public", "public"],
  ["POST", "/api/auth/logout-all", "read", "none"],
  ["POST", "/api/geofences", "operate", "fleet"],
  ["POST", "/api/groups", "write", "admin"],
  ["POST", "/api/groups/:id/vehicles", "write", "admin"],
  ["POST", "/api/integrations", "write", "admin"],
  ["POST", "/api/tokens", "write", "admin"],
  ["POST", "/api/users", "write", "admin"],
  ["POST", "/api/users/:username/password", "write", "admin"],
  ["POST", "/api/vehicles/import", "write", "admin"],
  ["POST", "/api/location", "device", "device"],
  ["POST", "/api/locations", "device", "device"],
  ["POST", "/api/notification-channels", "write", "admin"],
  ["POST", "/api/notification-channels/:id/test", "write", "admin"],
  ["POST", "/api/owntracks", "device", "device"],
  ["POST", "/api/users/:username/disable", "write", "admin"],
  ["POST", "/api/users/:username/enable", "write", "admin"],
  ["POST", "/api/users/:username/logout", "write", "admin"],
  ["POST", "/api/vehicles", "operate", "filtered"],
  ["POST", "/api/vehicles/:id/commands", "operate", "param"],
  ["POST", "/api/vehicles/:id/credentials", "operate", "param"],
  ["PUT", "/api/geofences/:id", "operate", "fleet"],
  ["PUT", "/api/integrations/:name/access", "write", "admin"],
  ["PUT", "/api/tokens/:id/access", "write", "admin"],
  ["PUT", "/api/users/:username/access", "write", "admin"],
];

const S = 1000;
const iso = (t: number) => new Date(t).toISOString();
const T0 = Date.now() - 2 * 3_600_000;
/** east along lat 25.3 through a depot geofence, over the speeding rule's limit: two trips, a stop between */
function drive(offset: number) {
  const out: { lat: number; lng: number; recordedAt: number; speed: number; ignition: boolean }[] = [];
  let lng = 55.2705;
  const at = (s: number, speed: number, ignition = true) =>
    out.push({ lat: 25.3 + offset, lng, recordedAt: T0 + s * S, speed, ignition });
  at(0, 0);
  for (let s = 30; s <= 600; s += 30) {
    lng += 0.001;
    at(s, 80);
  }
  for (let s = 630; s <= 1230; s += 30) at(s, 0);
  for (let s = 1260; s <= 1830; s += 30) {
    lng += 0.001;
    at(s, 80);
  }
  at(1860, 0);
  at(1890, 0, false);
  return out;
}

describe("vehicle scope: every route keeps a caller to its groups' vehicles", () => {
  let p: TestPlatform;
  let h: ApiHarness;
  let a: DeviceCredentials;
  let b: DeviceCredentials;
  let groupA: number;
  let groupB: number;
  /** a viewer and an operator limited to group A */
  let viewerA: { authorization: string };
  let operatorA: { authorization: string };
  let admin: { authorization: string };
  const commandOf: Record<string, string> = {};
  const range = `from=${iso(T0 - 60_000)}&to=${iso(Date.now())}`;
  const day = new Date(T0 + 4 * 3_600_000).toISOString().slice(0, 10);

  const req = async (method: string, url: string, headers: Record<string, string>, body?: unknown) => {
    const res = await h.app.inject({
      method: method as "GET",
      url,
      headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: res.statusCode, text: res.body, json: () => res.json() };
  };

  beforeAll(async () => {
    p = await startPlatform();
    h = await startApi({ platform: p });
    admin = h.bearer(h.adminToken);
    await p.pool.query(
      `INSERT INTO geofences (name, polygon, created_at)
       VALUES ('depot', ST_MakeEnvelope(55.27, 25.2, 55.28, 25.5, 4326), now() - interval '30 days')`,
    );
    // a rule judges fixes recorded after it was made: made before the test's fixes
    await p.pool.query(
      `INSERT INTO alert_rules (name, kind, params, created_at)
       VALUES ('fast', 'speeding', '{"limitKmh": 60, "minSeconds": 0}', now() - interval '30 days')`,
    );
    [a, b] = (await p.register("sc", 2)) as [DeviceCredentials, DeviceCredentials];
    groupA = (await req("POST", "/api/groups", admin, { name: "A" })).json().id;
    groupB = (await req("POST", "/api/groups", admin, { name: "B" })).json().id;
    expect((await req("POST", `/api/groups/${groupA}/vehicles`, admin, { vehicleIds: [a.id] })).status).toBe(
      200,
    );
    expect((await req("POST", `/api/groups/${groupB}/vehicles`, admin, { vehicleIds: [b.id] })).status).toBe(
      200,
    );
    for (const [role, set] of [
      ["viewer", (t: string) => (viewerA = h.bearer(t))],
      ["operator", (t: string) => (operatorA = h.bearer(t))],
    ] as const) {
      const t = await addToken(h.pool, { name: `sc-${role}`, role });
      const grant = await req("PUT", `/api/tokens/${t.id}/access`, admin, { groupIds: [groupA] });
      expect(grant.json()).toEqual({ allVehicles: false, groupIds: [groupA] });
      set(t.token);
    }
    for (const [i, v] of [a, b].entries()) {
      const basic = {
        authorization: `Basic ${Buffer.from(`${v.username}:${v.password}`).toString("base64")}`,
      };
      expect((await req("POST", "/api/locations", basic, drive(i * 0.01))).status).toBe(202);
      // a fix with an impossible latitude: a rejected message of this vehicle
      expect((await req("POST", "/api/location", basic, { lat: 999, lng: 0, recordedAt: T0 })).status).toBe(
        202,
      );
      // the first fix again: a duplicate (an anomaly)
      expect((await req("POST", "/api/locations", basic, drive(i * 0.01).slice(0, 1))).status).toBe(202);
      const cmd = await req("POST", `/api/vehicles/${v.id}/commands`, admin, { payload: { action: "ping" } });
      commandOf[v.id] = cmd.json().id;
    }
    // every kind of derived row exists for both vehicles before the reads are compared
    for (const url of [
      `/api/reports/trips?${range}`,
      `/api/reports/stops?${range}`,
      `/api/events?${range}`,
      "/api/alerts",
      "/api/anomalies",
      "/api/rejected",
      `/api/analytics/daily?date=${day}`,
      "/api/positions",
    ])
      await waitFor(
        async () => (await req("GET", url, admin)).text,
        (t) => t.includes(`"${a.id}"`) && t.includes(`"${b.id}"`),
        { what: `${url} for both vehicles`, timeoutMs: 60_000 },
      );
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    await p?.close();
  });

  it("has a declared rule for every route, as in this table; Bull Board is for admins only", () => {
    const registered = h.app.routeRules().filter((r) => r.method !== "HEAD");
    const board = registered.filter((r) => r.url.startsWith("/admin/queues"));
    expect(board.length).toBeGreaterThan(10);
    expect(board.filter((r) => r.vehicles !== "admin")).toEqual([]);
    const rest = registered
      .filter((r) => !r.url.startsWith("/admin/queues"))
      // the UI's catch-all when the UI is built, its "not built" answer at / when not
      .map((r) => [r.method, r.url === "/*" ? "/" : r.url, r.access, r.vehicles]);
    const unique = [...new Map(rest.map((r) => [r.join(" "), r])).values()];
    const key = (r: unknown[]) => r.slice(0, 2).join(" ");
    expect(unique.sort((x, y) => key(x).localeCompare(key(y)))).toEqual(
      [...ROUTES].sort((x, y) => key(x).localeCompare(key(y))),
    );
  });

  it("refuses to start when a route open to non-admins declares no vehicle rule", async () => {
    const app = Fastify();
    registerRouteRules(app);
    app.get("/api/new-thing", { config: { access: "read" } }, async () => ({}));
    await expect(app.ready()).rejects.toThrow(/GET \/api\/new-thing/);
    await app.close();
  });

  it("answers a limited viewer only its groups' vehicles on every read route that returns vehicle data", async () => {
    const probes: Record<string, (v: string) => string> = {
      "/api/alerts": () => "/api/alerts",
      "/api/analytics/daily": () => `/api/analytics/daily?date=${day}`,
      "/api/anomalies": () => "/api/anomalies",
      "/api/events": () => `/api/events?${range}`,
      "/api/positions": () => "/api/positions",
      "/api/rejected": () => "/api/rejected",
      "/api/reports/stops": () => `/api/reports/stops?${range}`,
      "/api/reports/summary": () => `/api/reports/summary?from=${day}&to=${day}`,
      "/api/reports/trips": () => `/api/reports/trips?${range}`,
      "/api/vehicles": () => "/api/vehicles",
      "/api/vehicles/:id": (v) => `/api/vehicles/${v}`,
      "/api/vehicles/:id/commands": (v) => `/api/vehicles/${v}/commands`,
      "/api/vehicles/:id/commands/:commandId": (v) => `/api/vehicles/${v}/commands/${commandOf[v]}`,
      "/api/vehicles/:id/track": (v) => `/api/vehicles/${v}/track?${range}`,
      "/api/vehicles/export.csv": () => "/api/vehicles/export.csv",
    };
    // a vehicle in a JSON answer, or a CSV row starting with its id
    const names = (text: string, id: string) =>
      text.includes(`"${id}"`) || text.split("\n").some((l) => l.startsWith(`${id},`));
    // groups answer group ids, /ws is a socket: both have tests of their own
    const reads = h.app
      .routeRules()
      .filter(
        (r) =>
          r.method === "GET" &&
          (r.vehicles === "param" || r.vehicles === "filtered") &&
          !r.url.startsWith("/api/groups") &&
          r.url !== "/ws",
      );
    expect(reads.map((r) => r.url).filter((u) => !(u in probes))).toEqual([]);
    const wrong: string[] = [];
    for (const r of reads) {
      const probe = probes[r.url] as (v: string) => string;
      if (r.vehicles === "param") {
        if ((await req("GET", probe(b.id), admin)).status !== 200)
          wrong.push(`admin ${r.url}: not 200 for B`);
        if ((await req("GET", probe(a.id), viewerA)).status !== 200)
          wrong.push(`viewer ${r.url}: not 200 for A`);
        const other = await req("GET", probe(b.id), viewerA);
        if (other.status !== 404) wrong.push(`viewer ${r.url}: ${other.status} for B`);
      } else {
        const mine = await req("GET", probe(a.id), viewerA);
        if (!names(mine.text, a.id)) wrong.push(`viewer ${r.url}: A missing`);
        if (names(mine.text, b.id)) wrong.push(`viewer ${r.url}: B shown`);
        const sep = probe(a.id).includes("?") ? "&" : "?";
        const asked = await req("GET", `${probe(a.id)}${sep}vehicleId=${b.id}`, viewerA);
        // a filter naming another group's vehicle is an unknown vehicle, like a path parameter;
        // a route without that filter ignores it
        const refused = asked.status === 404 || (asked.status === 200 && !names(asked.text, b.id));
        if (!refused) wrong.push(`viewer ${r.url}?vehicleId=B: ${asked.status}`);
      }
    }
    expect(wrong).toEqual([]);
    const groups = await req("GET", "/api/groups", viewerA);
    expect(groups.json().items.map((g: { id: number }) => g.id)).toEqual([groupA]);
    expect((await req("GET", `/api/groups/${groupB}`, viewerA)).status).toBe(404);
    expect((await req("GET", "/api/groups", admin)).json().items).toHaveLength(2);
  });

  it("keeps a limited viewer's report and event exports (CSV) to its groups' vehicles", async () => {
    const exports = [
      `/api/reports/summary?from=${day}&to=${day}&format=csv`,
      `/api/reports/trips?${range}&format=csv`,
      `/api/reports/stops?${range}&format=csv`,
      `/api/events?${range}&format=csv`,
    ];
    const rows = (text: string, id: string) => text.split("\r\n").filter((l) => l.includes(`${id},`)).length;
    for (const url of exports) {
      const all = await req("GET", url, admin);
      expect(all.status, url).toBe(200);
      expect(rows(all.text, b.id), `admin ${url}`).toBeGreaterThan(0);
      const mine = await req("GET", url, viewerA);
      expect(rows(mine.text, a.id), `viewer ${url}`).toBeGreaterThan(0);
      expect(rows(mine.text, b.id), `viewer ${url}`).toBe(0);
    }
  });

  it("lets a limited operator acknowledge its vehicles' alerts only", async () => {
    const alerts = (await req("GET", "/api/alerts", admin)).json().items as {
      id: number;
      vehicleId: string;
    }[];
    const ofA = alerts.find((x) => x.vehicleId === a.id);
    const ofB = alerts.find((x) => x.vehicleId === b.id);
    expect((await req("POST", `/api/alerts/${ofA?.id}/ack`, viewerA)).status).toBe(403);
    expect((await req("POST", `/api/alerts/${ofB?.id}/ack`, operatorA)).status).toBe(404);
    expect((await req("POST", `/api/alerts/${ofA?.id}/ack`, operatorA)).status).toBe(200);
    // acknowledging several: another group's alert is skipped, never acknowledged
    expect((await req("POST", "/api/alerts/ack", viewerA, { ids: [ofB?.id] })).status).toBe(403);
    const bulk = await req("POST", "/api/alerts/ack", operatorA, { ids: [ofB?.id] });
    expect(bulk.json()).toEqual({ acknowledged: [] });
    const after = (await req("GET", "/api/alerts", admin)).json().items as {
      id: number;
      acknowledgedAt: string;
    }[];
    expect(after.find((x) => x.id === ofB?.id)?.acknowledgedAt).toBeNull();
  });

  it("lets a limited operator manage its groups' vehicles, and no other", async () => {
    // another group's vehicle is unknown to it, for every change
    for (const [method, url, body] of [
      ["PATCH", `/api/vehicles/${b.id}`, { name: "x" }],
      ["POST", `/api/vehicles/${b.id}/commands`, { payload: 1 }],
      ["POST", `/api/vehicles/${b.id}/credentials`, undefined],
      ["DELETE", `/api/vehicles/${b.id}`, undefined],
    ] as const) {
      const res = await req(method, url, { ...operatorA, "if-match": "1" }, body);
      expect(res.status, `${method} ${url}`).toBe(404);
    }
    expect((await req("GET", `/api/vehicles/${b.id}`, admin)).json().name).toBeNull();
    const patched = await req(
      "PATCH",
      `/api/vehicles/${a.id}`,
      { ...operatorA, "if-match": "1" },
      { name: "Van A" },
    );
    expect(patched.status).toBe(200);
    expect((await req("POST", `/api/vehicles/${a.id}/commands`, operatorA, { payload: 1 })).status).toBe(202);
    // a vehicle it registers must go into one of its groups, or it could not see it
    expect((await req("POST", "/api/vehicles", operatorA, { id: "sc-new" })).status).toBe(400);
    expect((await req("POST", "/api/vehicles", operatorA, { id: "sc-new", groupIds: [groupB] })).status).toBe(
      400,
    );
    const added = await req("POST", "/api/vehicles", operatorA, { id: "sc-new", groupIds: [groupA] });
    expect(added.status).toBe(201);
    expect((await req("GET", "/api/vehicles/sc-new", operatorA)).status).toBe(200);
    // alert rules: within its groups only; geofences are fleet-wide and its to edit
    const fleetRule = { name: "r", kind: "speeding", params: { limitKmh: 90, minSeconds: 0 } };
    expect((await req("POST", "/api/alert-rules", operatorA, fleetRule)).status).toBe(403);
    expect(
      (
        await req("POST", "/api/alert-rules", operatorA, {
          ...fleetRule,
          scope: { kind: "group", groupId: groupB },
        })
      ).status,
    ).toBe(403);
    const own = await req("POST", "/api/alert-rules", operatorA, {
      ...fleetRule,
      scope: { kind: "group", groupId: groupA },
    });
    expect(own.status).toBe(201);
    const fleetRules = (await req("GET", "/api/alert-rules", admin)).json().items as {
      id: number;
      name: string;
    }[];
    const fast = fleetRules.find((r) => r.name === "fast");
    expect((await req("DELETE", `/api/alert-rules/${fast?.id}`, operatorA)).status).toBe(404);
    const square = {
      type: "Polygon",
      coordinates: [
        [
          [55, 25],
          [55.1, 25],
          [55.1, 25.1],
          [55, 25],
        ],
      ],
    };
    const fence = await req("POST", "/api/geofences", operatorA, {
      type: "Feature",
      geometry: square,
      properties: { name: "yard" },
    });
    expect(fence.status).toBe(201);
    // a viewer changes nothing; groups and grants are for admins
    expect(
      (await req("PATCH", `/api/vehicles/${a.id}`, { ...viewerA, "if-match": "2" }, { name: "v" })).status,
    ).toBe(403);
    expect((await req("POST", "/api/groups", operatorA, { name: "C" })).status).toBe(403);
  });
});
