import { STATUS_CODES } from "node:http";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_ERROR_CODES, API_ERRORS, type ApiErrorCode, codeForStatus } from "../../api/error-catalogue.ts";
import { REJECT_REASONS } from "../../core/reject-reasons.ts";
import { type ApiHarness, startApi } from "./harness.ts";

describe("the error catalogue (api/error-catalogue.ts)", () => {
  it("has unique codes, none shared with the device-ingest reject reasons", () => {
    expect(new Set(API_ERROR_CODES).size).toBe(API_ERROR_CODES.length);
    expect(API_ERROR_CODES.filter((c) => c in REJECT_REASONS)).toEqual([]);
    for (const code of API_ERROR_CODES) expect(code).toMatch(/^E_[A-Z]+(_[A-Z]+)*$/);
  });

  it("gives every code an error status with a reason phrase and a default message", () => {
    for (const [code, { status, message }] of Object.entries(API_ERRORS)) {
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(600);
      expect(STATUS_CODES[status], code).toBeTruthy();
      expect(message.length, code).toBeGreaterThan(0);
    }
  });

  it("maps the statuses Fastify and its plugins raise to a code of that status", () => {
    for (const status of [400, 401, 403, 404, 413, 415, 429, 500, 503])
      expect(API_ERRORS[codeForStatus(status)].status, String(status)).toBe(status);
  });
});

describe("every error the API answers carries a catalogue code", () => {
  let h: ApiHarness;
  let admin: { authorization: string };
  let viewer: { authorization: string };

  beforeAll(async () => {
    h = await startApi({ env: { LOGIN_RATE_LIMIT: "1" } });
    admin = h.bearer(h.adminToken);
    viewer = h.bearer(h.viewerToken);
    expect((await postVehicle(admin, "err-1")).statusCode).toBe(201);
  });
  afterAll(() => h?.close());

  const postVehicle = (headers: Record<string, string>, id: string) =>
    h.app.inject({ method: "POST", url: "/api/vehicles", headers, payload: { id } });
  const postRawVehicle = (contentType: string, body: string) =>
    h.app.inject({
      method: "POST",
      url: "/api/vehicles",
      headers: { ...admin, "content-type": contentType },
      payload: body,
    });

  /** The body is `{statusCode, code, error, message}` and the code's catalogue status is the answer's. */
  function expectError(res: LightMyRequestResponse, status: number, code: ApiErrorCode) {
    const body = res.json();
    expect(res.statusCode, res.body).toBe(status);
    expect(body).toMatchObject({ statusCode: status, code, error: STATUS_CODES[status] });
    expect(typeof body.message).toBe("string");
    expect(API_ERROR_CODES).toContain(body.code);
    expect(API_ERRORS[code].status).toBe(status);
    return body;
  }

  it("404: an unknown route (Fastify's not-found), an unknown vehicle", async () => {
    expectError(await h.app.inject({ url: "/api/nope", headers: admin }), 404, "E_ROUTE_NOT_FOUND");
    const post = expectError(
      await h.app.inject({ method: "POST", url: "/api/nope", headers: admin, payload: {} }),
      404,
      "E_ROUTE_NOT_FOUND",
    );
    expect(post.message).toBe("Route POST:/api/nope not found");
    const vehicle = expectError(
      await h.app.inject({ url: "/api/vehicles/ghost", headers: admin }),
      404,
      "E_NOT_FOUND",
    );
    expect(vehicle.message).toBe("no vehicle ghost");
  });

  it("400: a schema validation failure names its field; a route's own check too; bad JSON is malformed", async () => {
    const limit = expectError(
      await h.app.inject({ url: "/api/vehicles?limit=0", headers: admin }),
      400,
      "E_VALIDATION",
    );
    expect(limit.field).toBe("querystring.limit");
    const range = expectError(
      await h.app.inject({
        url: "/api/reports/trips?from=2024-01-02T00:00:00Z&to=2024-01-01T00:00:00Z",
        headers: admin,
      }),
      400,
      "E_VALIDATION",
    );
    expect(range.field).toBe("querystring.to");
    const cursor = expectError(
      await h.app.inject({ url: "/api/geofences?cursor=abc", headers: admin }),
      400,
      "E_VALIDATION",
    );
    expect(cursor).toMatchObject({
      field: "querystring.cursor",
      message: "querystring.cursor: invalid cursor",
    });
    expectError(await postRawVehicle("application/json", "{not json"), 400, "E_BAD_REQUEST");
  });

  const failedLogin = () =>
    h.app.inject({
      method: "POST",
      url: "/api/auth/login",
      payload: { username: "nobody", password: "wrong-wrong" },
    });

  it("401 without credentials (user and device routes), and for a failed login", async () => {
    expectError(await h.app.inject({ url: "/api/vehicles" }), 401, "E_UNAUTHORIZED");
    expectError(
      await h.app.inject({ method: "POST", url: "/api/location", payload: "{}" }),
      401,
      "E_DEVICE_UNAUTHORIZED",
    );
    expectError(await failedLogin(), 401, "E_LOGIN_FAILED");
  });

  it("429 from the login rate limit (@fastify/rate-limit)", async () => {
    // LOGIN_RATE_LIMIT is 1 and the test above spent it
    expectError(await failedLogin(), 429, "E_RATE_LIMITED");
  });

  it("403 for a viewer writing", async () => {
    expectError(await postVehicle(viewer, "err-v"), 403, "E_FORBIDDEN");
  });

  it("428 without If-Match, 409 with a stale version (and its currentVersion)", async () => {
    const patch = (headers: Record<string, string>) =>
      h.app.inject({
        method: "PATCH",
        url: "/api/vehicles/err-1",
        headers: { ...admin, ...headers },
        payload: { name: "x" },
      });
    expectError(await patch({}), 428, "E_PRECONDITION_REQUIRED");
    expect((await patch({ "if-match": "1" })).statusCode).toBe(200);
    const stale = expectError(await patch({ "if-match": "1" }), 409, "E_VERSION_CONFLICT");
    expect(stale.currentVersion).toBe(2);
  });

  it("409 for a vehicle that exists already", async () => {
    expectError(await postVehicle(admin, "err-1"), 409, "E_ALREADY_EXISTS");
  });

  it("413 for a body over the route's limit, 415 for a media type no parser reads", async () => {
    expectError(
      await h.app.inject({
        method: "POST",
        url: "/api/vehicles/err-1/commands",
        headers: admin,
        payload: { payload: "x".repeat(70 * 1024) },
      }),
      413,
      "E_PAYLOAD_TOO_LARGE",
    );
    expectError(
      await postRawVehicle("application/xml", '<vehicle id="err-2"/>'),
      415,
      "E_UNSUPPORTED_MEDIA_TYPE",
    );
  });

  it("400 for a NUL character in free text, which PostgreSQL cannot store (not a 500)", async () => {
    const send = (method: "POST" | "GET", url: string, payload?: object) =>
      h.app.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
    const refused = [
      await send("POST", "/api/vehicles", { id: "nul-1", name: "a\u0000b" }),
      await send("POST", "/api/alert-rules", {
        name: "a\u0000b",
        kind: "speeding",
        params: { limitKmh: 80, minSeconds: 5 },
      }),
      await send("POST", "/api/notification-channels", {
        kind: "webhook",
        url: "https://8.8.8.8/hook",
        name: "a\u0000b",
      }),
      await send("GET", "/api/audit?actor=a%00b"),
    ];
    for (const res of refused) {
      const body = expectError(res, 400, "E_VALIDATION");
      expect(body.message).toContain("NUL");
    }
    expect((await h.app.inject({ url: "/api/vehicles/nul-1", headers: admin })).statusCode).toBe(404);
  });

  it("documents the code in the OpenAPI error schema", async () => {
    const doc = (await h.app.inject({ url: "/docs/json", headers: h.bearer(h.viewerToken) })).json();
    const schema = doc.paths["/api/vehicles/{id}"].get.responses["404"].content["application/json"].schema;
    expect(schema.required).toContain("code");
    expect(schema.properties.code.enum).toEqual(API_ERROR_CODES);
  });
});
