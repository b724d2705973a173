import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "../../core/users.ts";
import { type ApiHarness, startApi } from "./harness.ts";

describe("the app: OpenAPI, security headers, CORS, request ids, Bull Board", () => {
  let h: ApiHarness;

  beforeAll(async () => {
    h = await startApi({ env: { CORS_ORIGINS: "https://fleet.example.com, https://ops.example.com" } });
  });
  afterAll(() => h?.close());

  it("documents the 401 and 403 of every route that is not public, with the API's error body", async () => {
    const doc = (await h.app.inject({ url: "/docs/json", headers: h.bearer(h.viewerToken) })).json();
    const operations = h.app.routeRules().flatMap((r) => {
      const path = r.url.replace(/:(\w+)/g, "{$1}");
      const op = doc.paths[path]?.[r.method.toLowerCase()] as
        | { responses?: Record<string, unknown> }
        | undefined;
      return op?.responses ? [{ ...r, responses: op.responses }] : [];
    });
    const guarded = operations.filter((o) => o.access !== "public");
    expect(guarded.length).toBeGreaterThan(40);
    for (const o of guarded) {
      for (const status of ["401", "403"]) {
        const body = (
          o.responses[status] as { content?: Record<string, { schema?: { properties?: object } }> }
        )?.content?.["application/json"]?.schema;
        expect(Object.keys(body?.properties ?? {}), `${o.method} ${o.url} ${status}`).toEqual(
          expect.arrayContaining(["statusCode", "code", "error", "message"]),
        );
      }
    }
    // a public route is refused to nobody
    const health = operations.find((o) => o.url === "/health" && o.method === "GET");
    expect(health?.responses["403"]).toBeUndefined();
    // and the refusal itself has that body
    const refused = await h.app.inject({ url: "/api/vehicles" });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ statusCode: 401, code: "E_UNAUTHORIZED" });
  });

  it("serves an OpenAPI document generated from the route schemas, and Swagger UI at /docs, to a logged-in caller", async () => {
    const doc = (await h.app.inject({ url: "/docs/json", headers: h.bearer(h.viewerToken) })).json();
    expect(doc.openapi).toMatch(/^3\./);
    const paths = Object.keys(doc.paths);
    for (const p of [
      "/api/auth/login",
      "/api/auth/logout",
      "/api/vehicles",
      "/api/vehicles/{id}",
      "/api/vehicles/{id}/credentials",
      "/api/vehicles/{id}/track",
      "/api/positions",
      "/api/geofences",
      "/api/geofences/{id}",
      "/api/rejected",
      "/api/location",
      "/api/locations",
      "/health",
      "/metrics",
    ]) {
      expect(paths, p).toContain(p);
    }
    const register = doc.paths["/api/vehicles"].post;
    expect(register.requestBody.content["application/json"].schema.required).toEqual(["id"]);
    expect(doc.paths["/api/vehicles/{id}"].patch.parameters.map((x: { name: string }) => x.name)).toContain(
      "if-match",
    );
    const ui = await h.app.inject({ url: "/docs/", headers: h.bearer(h.viewerToken) });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain("swagger");
  });

  it("sets helmet's security headers", async () => {
    const res = await h.app.inject({ url: "/health" });
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["x-frame-options"]).toBe("SAMEORIGIN");
    expect(res.headers["content-security-policy"]).toContain("default-src 'self'");
    expect(res.headers["strict-transport-security"]).toBeDefined();
  });

  it("allows only the configured CORS origins, with credentials", async () => {
    const preflight = (origin: string) =>
      h.app.inject({
        method: "OPTIONS",
        url: "/api/vehicles",
        headers: { origin, "access-control-request-method": "GET" },
      });
    const ok = await preflight("https://ops.example.com");
    expect(ok.headers["access-control-allow-origin"]).toBe("https://ops.example.com");
    expect(ok.headers["access-control-allow-credentials"]).toBe("true");
    const evil = await preflight("https://evil.example.net");
    expect(evil.headers["access-control-allow-origin"]).toBeUndefined();
    const plain = await startApi({ redisUrl: h.redisUrl });
    try {
      const same = await plain.app.inject({
        method: "OPTIONS",
        url: "/api/vehicles",
        headers: { origin: "https://ops.example.com", "access-control-request-method": "GET" },
      });
      expect(same.headers["access-control-allow-origin"]).toBeUndefined();
    } finally {
      await plain.close();
    }
  });

  it("answers with a request id: the caller's when it is sane, a fresh one otherwise", async () => {
    const given = await h.app.inject({ url: "/health", headers: { "x-request-id": "trace-abc.123" } });
    expect(given.headers["x-request-id"]).toBe("trace-abc.123");
    const insane = await h.app.inject({
      url: "/health",
      headers: { "x-request-id": "a b\u0000c".repeat(30) },
    });
    expect(insane.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    const none = await h.app.inject({ url: "/health" });
    expect(none.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers 404 with the API's error shape for an unknown route", async () => {
    const res = await h.app.inject({ url: "/api/nothing-here", headers: h.bearer(h.adminToken) });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ statusCode: 404, error: "Not Found" });
  });

  it("serves Bull Board at /admin/queues to admins only, by token or by session cookie", async () => {
    expect((await h.app.inject({ url: "/admin/queues" })).statusCode).toBe(401);
    expect((await h.app.inject({ url: "/admin/queues", headers: h.bearer(h.viewerToken) })).statusCode).toBe(
      403,
    );
    const page = await h.app.inject({ url: "/admin/queues", headers: h.bearer(h.adminToken) });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/text\/html/);
    const api = await h.app.inject({ url: "/admin/queues/api/queues", headers: h.bearer(h.adminToken) });
    expect(api.statusCode).toBe(200);
    expect(JSON.stringify(api.json())).toContain('"locations-0"');
    expect(
      (await h.app.inject({ url: "/admin/queues/api/queues", headers: h.bearer(h.viewerToken) })).statusCode,
    ).toBe(403);

    await addUser(h.pool, { username: "ops", password: "ops password", role: "admin" });
    const login = await h.app.inject({
      method: "POST",
      url: "/api/auth/login",
      payload: { username: "ops", password: "ops password" },
    });
    const cookie = login.cookies.find((c) => c.name === "lt_session");
    const viaCookie = await h.app.inject({
      url: "/admin/queues",
      headers: { cookie: `lt_session=${cookie?.value}` },
    });
    expect(viaCookie.statusCode).toBe(200);
  });
});
