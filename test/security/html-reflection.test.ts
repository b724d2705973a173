import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addVehicle } from "../../core/vehicles.ts";
import { type ApiHarness, startApi } from "../api/harness.ts";
import { fillPath, listRoutes } from "./support/routes.ts";

// No route reflects input into HTML: every registered route, every method, with a script payload
// in each path parameter, in the query and in the body, as admin and anonymous. A response that a
// browser would render (HTML, XML, SVG) must not contain it; any response echoing it must be
// labelled as something else and carry `X-Content-Type-Options: nosniff`.
const SCRIPT = "<script>alert(1)</script>";
const PAYLOAD = `"'><img src=x onerror=alert(1)>${SCRIPT}`;
const QUERY_KEYS = [
  "q",
  "id",
  "vehicleId",
  "geofenceId",
  "from",
  "to",
  "date",
  "bbox",
  "format",
  "simplify",
  "limit",
  "cursor",
  "reason",
  "kind",
  "redirect",
  "next",
];
const rendered = /html|xml|svg/i;

describe("no route reflects input into HTML", () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi();
    // stored input too: a vehicle named with the payload, with a fix, read back in every format
    await addVehicle(api.pool, { id: "xss-1", name: PAYLOAD, plate: PAYLOAD });
    await api.pool.query("SELECT location_partition_for(now() - interval '1 hour', 'day')");
    await api.pool.query(
      "INSERT INTO vehicle_locations (vehicle_id, recorded_at, location, received_at, message_id) VALUES ($1, now() - interval '1 hour', ST_SetSRID(ST_MakePoint(55.27, 25.2), 4326), now(), $2)",
      ["xss-1", PAYLOAD],
    );
  });
  afterAll(() => api?.close());

  it("scans every route with a script payload in path, query, body and headers", async () => {
    const routes = listRoutes(api.app).filter((r) => !["HEAD", "OPTIONS"].includes(r.method));
    const query = QUERY_KEYS.map((k) => `${k}=${encodeURIComponent(PAYLOAD)}`).join("&");
    const body = JSON.stringify({
      id: PAYLOAD,
      name: PAYLOAD,
      plate: PAYLOAD,
      username: PAYLOAD,
      password: PAYLOAD,
      token: PAYLOAD,
      payload: { text: PAYLOAD },
      status: PAYLOAD,
      type: "Feature",
      properties: { name: PAYLOAD },
    });
    const requests: { method: string; url: string }[] = [];
    for (const r of routes) {
      requests.push({ method: r.method, url: `${fillPath(r.path, PAYLOAD)}?${query}` });
      // the same route with real ids, so that a 200 (not a 404) is checked too
      requests.push({ method: r.method, url: `${fillPath(r.path, "xss-1")}?${query}` });
    }
    for (const format of ["geojson", "gpx", "csv"]) {
      const from = new Date(Date.now() - 86_400_000).toISOString();
      requests.push({ method: "GET", url: `/api/vehicles/xss-1/track?from=${from}&format=${format}` });
    }
    requests.push({ method: "GET", url: `/${encodeURIComponent(PAYLOAD)}` });
    requests.push({ method: "GET", url: `/vehicles/${encodeURIComponent(PAYLOAD)}` });

    const problems: string[] = [];
    let checked = 0;
    for (const req of requests) {
      for (const headers of [api.bearer(api.adminToken), {}]) {
        const res = await api.app.inject({
          method: req.method as "GET",
          url: req.url,
          headers: {
            ...headers,
            "content-type": "application/json",
            "x-request-id": PAYLOAD,
            referer: PAYLOAD,
          },
          ...(req.method === "GET" || req.method === "DELETE" ? {} : { payload: body }),
        });
        checked++;
        const type = String(res.headers["content-type"] ?? "");
        const where = `${req.method} ${req.url.slice(0, 80)} → ${res.statusCode} ${type}`;
        if (res.body.includes(SCRIPT) || res.body.includes("<img src=x")) {
          if (rendered.test(type) || type === "")
            problems.push(`reflected into ${type || "no type"}: ${where}`);
          if (res.headers["x-content-type-options"] !== "nosniff") problems.push(`no nosniff: ${where}`);
        }
        for (const [name, value] of Object.entries(res.headers)) {
          if (/<script|<img/i.test(String(value))) problems.push(`header ${name} reflects input: ${where}`);
        }
      }
    }
    expect(problems).toEqual([]);
    console.log(`HTML reflection scan: ${routes.length} routes, ${checked} requests`);
  });
});
