import { createServer, type IncomingMessage, type Server } from "node:http";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { counterField } from "../../../core/metrics-catalogue.ts";
import { redisKeys } from "../../../core/redis.ts";
import { type ApiHarness, startApi } from "../../api/harness.ts";

// Security review finding 12 (docs/security.md): in external-broker mode EMQX holds the devices'
// sessions, so rotating or removing a vehicle must end them through EMQX's REST API. The server
// below stands in for that API at the boundary (its HTTP contract: GET /api/v5/clients?username=,
// DELETE /api/v5/clients/{clientid}, basic auth with an API key) and records what it is asked.
const KEY = "logitrack-revoke";
const SECRET = "s3cr3t-for-the-test-only";

interface Call {
  method: string;
  url: string;
  authorization: string | undefined;
}

describe("finding 12: a rotated or removed device is disconnected from the external broker", () => {
  let h: ApiHarness;
  let emqx: Server;
  let base: string;
  const calls: Call[] = [];
  const logged: Record<string, unknown>[] = [];
  /** the sessions the stand-in broker holds, by username */
  const sessions = new Map<string, string[]>();
  let failWith: number | undefined;

  beforeAll(async () => {
    emqx = createServer((req: IncomingMessage, res) => {
      calls.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization });
      const expected = `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString("base64")}`;
      if (req.headers.authorization !== expected) return res.writeHead(401).end();
      if (failWith) return res.writeHead(failWith).end();
      const url = new URL(req.url ?? "/", "http://emqx");
      if (req.method === "GET" && url.pathname === "/api/v5/clients") {
        const username = url.searchParams.get("username") ?? "";
        const data = (sessions.get(username) ?? []).map((clientid) => ({ clientid, username }));
        return res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ data, meta: {} }));
      }
      const kick = /^\/api\/v5\/clients\/([^/]+)$/.exec(url.pathname);
      if (req.method === "DELETE" && kick) {
        const id = decodeURIComponent(kick[1] as string);
        for (const [user, ids] of sessions)
          sessions.set(
            user,
            ids.filter((c) => c !== id),
          );
        return res.writeHead(204).end();
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => emqx.listen(0, "127.0.0.1", resolve));
    const addr = emqx.address();
    base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
    const sink = new Writable({
      write(chunk, _enc, done) {
        logged.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    h = await startApi({
      env: {
        EXTERNAL_BROKER_API_URL: base,
        EXTERNAL_BROKER_API_KEY: KEY,
        EXTERNAL_BROKER_API_SECRET: SECRET,
      },
      log: pino({ level: "info" }, sink),
    });
  });
  afterAll(async () => {
    await h?.close();
    await new Promise((resolve) => emqx?.close(resolve));
  });
  afterEach(() => {
    calls.length = 0;
    failWith = undefined;
  });

  let api: string;
  const send = async (method: string, path: string, body?: unknown) => {
    api ??= `http://${await h.listen()}`;
    return fetch(`${api}${path}`, {
      method,
      headers: { ...h.bearer(h.adminToken), ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  };
  const kicked = () => calls.filter((c) => c.method === "DELETE").map((c) => decodeURIComponent(c.url));

  it("finding 12: rotating the credentials kicks every client of the vehicle, with the API key", async () => {
    expect((await send("POST", "/api/vehicles", { id: "truck-12a" })).status).toBe(201);
    sessions.set("truck-12a", ["truck-12a", "modem 7/α"]);
    const rotated = await send("POST", "/api/vehicles/truck-12a/credentials");
    expect(rotated.status).toBe(200);
    expect(calls[0]?.method).toBe("GET");
    expect(calls[0]?.url).toBe("/api/v5/clients?username=truck-12a&_limit=100");
    expect(kicked()).toEqual(["/api/v5/clients/truck-12a", "/api/v5/clients/modem 7/α"]);
    expect(
      calls.every((c) => c.authorization === `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString("base64")}`),
    ).toBe(true);
    expect(sessions.get("truck-12a")).toEqual([]);
  });

  it("finding 12: removing the vehicle, or setting it inactive, kicks its clients", async () => {
    expect((await send("POST", "/api/vehicles", { id: "truck-12b" })).status).toBe(201);
    const version = (await (await send("GET", "/api/vehicles/truck-12b")).json()) as { version: number };
    sessions.set("truck-12b", ["truck-12b"]);
    const patch = await fetch(`${api}/api/vehicles/truck-12b`, {
      method: "PATCH",
      headers: {
        ...h.bearer(h.adminToken),
        "content-type": "application/json",
        "if-match": String(version.version),
      },
      body: JSON.stringify({ status: "inactive" }),
    });
    expect(patch.status).toBe(200);
    expect(kicked()).toEqual(["/api/v5/clients/truck-12b"]);

    calls.length = 0;
    sessions.set("truck-12b", ["truck-12b-2"]);
    expect((await send("DELETE", "/api/vehicles/truck-12b")).status).toBe(204);
    expect(kicked()).toEqual(["/api/v5/clients/truck-12b-2"]);
  });

  it("finding 12: a failing management API is logged and counted, and the rotation still succeeds", async () => {
    expect((await send("POST", "/api/vehicles", { id: "truck-12c" })).status).toBe(201);
    const before = Number(
      (await h.redis.hget(redisKeys.metrics, counterField("external_broker_kick_failures"))) ?? 0,
    );
    failWith = 503;
    const rotated = await send("POST", "/api/vehicles/truck-12c/credentials");
    expect(rotated.status).toBe(200);
    expect(
      ((await rotated.json()) as { credentials: { password: string } }).credentials.password,
    ).toBeTruthy();
    expect(calls.length).toBeGreaterThan(0);
    const after = Number(
      await h.redis.hget(redisKeys.metrics, counterField("external_broker_kick_failures")),
    );
    expect(after).toBe(before + 1);
    expect(
      logged.some((l) => l.vehicleId === "truck-12c" && l.level === 40 && /HTTP 503/.test(String(l.err))),
    ).toBe(true);
    const metrics = await (await send("GET", "/metrics")).text();
    expect(metrics).toMatch(new RegExp(`^logitrack_external_broker_kick_failures_total ${after}$`, "m"));
  });
});
