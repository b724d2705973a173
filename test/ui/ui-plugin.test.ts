import { readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UI_DIST } from "../../api/plugins/ui.ts";
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
      staleAfterSeconds: 300,
    });
  });
});
