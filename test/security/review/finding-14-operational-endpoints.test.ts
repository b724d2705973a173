import { afterEach, describe, expect, it } from "vitest";
import { type ApiHarness, startApi } from "../../api/harness.ts";

// Security review finding 14 (docs/security.md): /metrics, /docs and the OpenAPI document need
// credentials unless an operator opens them, and /health tells an anonymous caller only whether
// the platform is up; the dependencies' error text is for admins. Real HTTP on loopback.
const SCRAPER_TOKEN = "scrape-4f1c9a7e2b8d6035";

describe("finding 14: operational endpoints tell strangers nothing they do not need", () => {
  const started: ApiHarness[] = [];
  const api = async (env: Record<string, string> = {}) => {
    const h = await startApi({ env });
    started.push(h);
    const base = `http://${await h.listen()}`;
    return {
      h,
      get: (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers }),
    };
  };
  afterEach(async () => {
    for (const h of started.splice(0)) await h.close();
  });

  it("finding 14: /metrics needs a login or METRICS_TOKEN by default, and is open only when METRICS_PUBLIC=true", async () => {
    const { h, get } = await api({ METRICS_TOKEN: SCRAPER_TOKEN });
    const anonymous = await get("/metrics");
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).not.toContain("logitrack_");
    expect((await get("/metrics", { authorization: "Bearer not-the-scraper-token" })).status).toBe(401);
    const scraper = await get("/metrics", { authorization: `Bearer ${SCRAPER_TOKEN}` });
    expect(scraper.status).toBe(200);
    expect(await scraper.text()).toContain("logitrack_bridge_fixes_accepted_total");
    expect((await get("/metrics", h.bearer(h.viewerToken))).status).toBe(200);
    // the scraper's token opens /metrics only
    expect((await get("/api/vehicles", { authorization: `Bearer ${SCRAPER_TOKEN}` })).status).toBe(401);

    const open = await api({ METRICS_PUBLIC: "true" });
    expect((await open.get("/metrics")).status).toBe(200);
  });

  it("finding 14: /docs and the OpenAPI document need a login unless DOCS_PUBLIC=true", async () => {
    const { h, get } = await api();
    for (const path of ["/docs/json", "/docs/yaml", "/docs/", "/docs/static/index.html"]) {
      expect((await get(path)).status, path).toBe(401);
    }
    const doc = await get("/docs/json", h.bearer(h.viewerToken));
    expect(doc.status).toBe(200);
    expect(((await doc.json()) as { openapi: string }).openapi).toMatch(/^3\./);

    const open = await api({ DOCS_PUBLIC: "true" });
    expect((await open.get("/docs/json")).status).toBe(200);
  });

  it("finding 14: /health answers an anonymous caller with the status alone, and an admin with the details", async () => {
    // no broker runs here: no heartbeat, so the platform is degraded with an error detail to hide
    const { h, get } = await api();
    const anonymous = await get("/health");
    expect(anonymous.status).toBe(503);
    expect(await anonymous.json()).toEqual({ status: "degraded" });
    const viewer = await get("/health", h.bearer(h.viewerToken));
    expect(viewer.status).toBe(503);
    expect(await viewer.json()).toEqual({ status: "degraded" });

    const admin = await get("/health", h.bearer(h.adminToken));
    expect(admin.status).toBe(503);
    const body = (await admin.json()) as {
      status: string;
      checks: Record<string, { ok: boolean; detail: unknown }>;
    };
    expect(body.status).toBe("degraded");
    expect(body.checks.broker).toEqual({ ok: false, detail: "no broker heartbeat" });
    expect(body.checks.postgres?.ok).toBe(true);
  });
});
