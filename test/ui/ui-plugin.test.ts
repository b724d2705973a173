import { readdirSync, statSync } from "node:fs";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basemapCsp, UI_DIST, uiConfig } from "../../api/plugins/ui.ts";
import { buildUiIfStale } from "../../ui/build-if-stale.ts";
import { type ApiHarness, startApi } from "../api/harness.ts";

let h: ApiHarness;

beforeAll(async () => {
  buildUiIfStale((msg) => process.stderr.write(`${msg}\n`));
  h = await startApi({ env: { TILE_URL: "https://tiles.example.test/{z}/{x}/{y}.png" } });
});
afterAll(async () => {
  await h?.close();
});

describe("the built UI on the API's origin (api/plugins/ui.ts)", () => {
  it("serves index.html at / and for any UI route, revalidated on every load", async () => {
    for (const url of ["/", "/vehicles/abc", "/geofences"]) {
      const r = await h.app.inject({ url });
      expect(r.statusCode).toBe(200);
      expect(r.headers["content-type"]).toMatch(/^text\/html/);
      expect(r.headers["cache-control"]).toBe("no-cache");
      expect(r.body).toContain('<div id="root">');
      // over plain http an upgrade to https would break the page's own /assets/* on a LAN host
      expect(r.headers["content-security-policy"]).toContain("script-src 'self'");
      expect(r.headers["content-security-policy"]).not.toContain("upgrade-insecure-requests");
    }
  });

  it("serves the hashed bundles as immutable and a missing file as 404, not as index.html", async () => {
    const js = readdirSync(`${UI_DIST}/assets`).find((f) => f.endsWith(".js"));
    const r = await h.app.inject({ url: `/assets/${js}` });
    expect(r.statusCode).toBe(200);
    expect(r.headers["cache-control"]).toContain("immutable");
    expect((await h.app.inject({ url: "/assets/nope-123.js" })).statusCode).toBe(404);
    expect((await h.app.inject({ url: "/assets/..%2f..%2fpackage.json" })).statusCode).toBeGreaterThanOrEqual(
      400,
    );
  });

  it("sends the bundles as the build's brotli or gzip copy to a browser that takes them", async () => {
    const js = readdirSync(`${UI_DIST}/assets`).find((f) => f.endsWith(".js")) as string;
    const size = statSync(`${UI_DIST}/assets/${js}`).size;
    const plain = await h.app.inject({ url: `/assets/${js}` });
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.rawPayload.length).toBe(size);
    const br = await h.app.inject({
      url: `/assets/${js}`,
      headers: { "accept-encoding": "gzip, deflate, br" },
    });
    expect(br.headers["content-encoding"]).toBe("br");
    expect(br.headers.vary).toMatch(/accept-encoding/i);
    expect(br.headers["content-type"]).toMatch(/javascript/);
    expect(br.headers["cache-control"]).toContain("immutable");
    expect(br.rawPayload.length).toBeLessThan(size / 3);
    expect(brotliDecompressSync(br.rawPayload).equals(plain.rawPayload)).toBe(true);
    const gz = await h.app.inject({ url: `/assets/${js}`, headers: { "accept-encoding": "gzip" } });
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(gz.rawPayload).equals(plain.rawPayload)).toBe(true);
  });

  it("serves no source map, and a favicon", async () => {
    expect(readdirSync(`${UI_DIST}/assets`).filter((f) => f.endsWith(".map"))).toEqual([]);
    const js = readdirSync(`${UI_DIST}/assets`).find((f) => f.endsWith(".js")) as string;
    const r = await h.app.inject({ url: `/assets/${js}.map` });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toMatchObject({ statusCode: 404 });
    const page = await h.app.inject({ url: "/" });
    expect(page.body).toContain('rel="icon" href="/favicon.svg"');
    const icon = await h.app.inject({ url: "/favicon.svg" });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers["content-type"]).toMatch(/^image\/svg\+xml/);
    // the address browsers ask for without looking at the page: not a 404
    const ico = await h.app.inject({ url: "/favicon.ico" });
    expect(ico.statusCode).toBe(301);
    expect(ico.headers.location).toBe("/favicon.svg");
  });

  it("ships the offline basemap's data: land and the simulator's Dubai roads", async () => {
    for (const url of ["/basemap/land.geojson", "/basemap/dubai-roads.geojson"]) {
      const r = await h.app.inject({ url });
      expect(r.statusCode).toBe(200);
      expect(JSON.parse(r.body)).toMatchObject({ type: "FeatureCollection" });
    }
  });

  it("answers unknown API paths with the API's JSON 404", async () => {
    for (const url of ["/api/nope", "/ws/x", "/health/x"]) {
      const r = await h.app.inject({ url });
      expect(r.statusCode).toBe(404);
      expect(r.json()).toMatchObject({ statusCode: 404, error: "Not Found" });
    }
  });

  it("gives the map settings (TILE_URL) to a logged-in user only", async () => {
    expect((await h.app.inject({ url: "/api/ui/config" })).statusCode).toBe(401);
    const r = await h.app.inject({ url: "/api/ui/config", headers: h.bearer(h.viewerToken) });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({
      tileUrl: "https://tiles.example.test/{z}/{x}/{y}.png",
      tileFormat: "xyz",
      staleAfterSeconds: 300,
      fleetTimeZone: "Asia/Dubai",
      maxZoom: 19,
    });
  });

  it("takes MAP_TILE_URL over its older name TILE_URL, a .pmtiles file as one, and the attribution and zoom given", () => {
    const base = { TILE_URL: "https://tile.openstreetmap.org/{z}/{x}/{y}.png", MAP_MAX_ZOOM: 19 };
    const rest = {
      STALE_AFTER_SECONDS: 300,
      FLEET_TZ: "Europe/Oslo",
      MOVING_SPEED_KMH: 7,
      TRIP_GAP_SECONDS: 900,
    };
    expect(uiConfig({ ...base, ...rest })).toMatchObject({
      tileUrl: base.TILE_URL,
      tileFormat: "xyz",
      tileAttribution: expect.stringContaining("OpenStreetMap"),
      fleetTimeZone: "Europe/Oslo",
      movingSpeedKmh: 7,
      // the history track's gaps are the silences that end a trip
      gapSeconds: 900,
    });
    const own = uiConfig({
      ...base,
      ...rest,
      MAP_TILE_URL: "https://maps.example.test/fleet.pmtiles",
      MAP_TILE_ATTRIBUTION: "© ours",
      MAP_MAX_ZOOM: 15,
    });
    expect(own).toMatchObject({
      tileUrl: "https://maps.example.test/fleet.pmtiles",
      tileFormat: "pmtiles",
      tileAttribution: "© ours",
      maxZoom: 15,
    });
  });

  it("points the map at the served MAP_PMTILES_FILE, reads pmtiles:// as a PMTiles URL, and widens the CSP by that origin and blob: images only", () => {
    const base = { TILE_URL: "https://tile.openstreetmap.org/{z}/{x}/{y}.png", MAP_MAX_ZOOM: 19 };
    const rest = { STALE_AFTER_SECONDS: 300, FLEET_TZ: "Asia/Dubai" };
    const served = { ...base, ...rest, MAP_PMTILES_FILE: "/srv/maps/dubai.pmtiles" };
    expect(uiConfig(served)).toMatchObject({ tileUrl: "/api/ui/basemap.pmtiles", tileFormat: "pmtiles" });
    expect(basemapCsp(served)).toEqual({ connectSrc: [], imgSrc: ["blob:"] });
    const remote = { ...base, ...rest, MAP_TILE_URL: "pmtiles://https://cdn.example.test/world.pmtiles?v=2" };
    expect(uiConfig(remote)).toMatchObject({
      tileUrl: "https://cdn.example.test/world.pmtiles?v=2",
      tileFormat: "pmtiles",
    });
    expect(basemapCsp(remote)).toEqual({ connectSrc: ["https://cdn.example.test"], imgSrc: ["blob:"] });
    expect(basemapCsp({ ...base, ...rest })).toEqual({ connectSrc: [], imgSrc: [] });
  });
});
