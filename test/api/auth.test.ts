import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureAdminToken } from "../../api/admin-token.ts";
import { addUser } from "../../core/users.ts";
import { type ApiHarness, startApi } from "./harness.ts";
import { openWs } from "./ws-client.ts";

const run = promisify(execFile);

describe("auth: users, sessions, tokens", () => {
  let h: ApiHarness;
  let base: string;

  beforeAll(async () => {
    h = await startApi({ env: { LOGIN_RATE_LIMIT: "1000" } });
    await addUser(h.pool, { username: "alice", password: "correct horse battery", role: "admin" });
    await addUser(h.pool, { username: "victor", password: "viewer password", role: "viewer" });
    await h.app.listen({ port: 0, host: "127.0.0.1" });
    const addr = h.app.server.address();
    base = `127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  });
  afterAll(() => h?.close());

  const login = (payload: unknown) =>
    h.app.inject({ method: "POST", url: "/api/auth/login", payload: payload as object });
  const sessionCookie = (res: { cookies: { name: string; value: string }[] }) => {
    const c = res.cookies.find((x) => x.name === "lt_session");
    return c ? `lt_session=${c.value}` : "";
  };

  it("sets an HttpOnly, SameSite=Strict session cookie on login", async () => {
    const res = await login({ username: "alice", password: "correct horse battery" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: "alice", role: "admin" });
    const raw = String(res.headers["set-cookie"]);
    expect(raw).toMatch(/lt_session=[A-Za-z0-9_-]{43}/);
    expect(raw).toMatch(/HttpOnly/i);
    expect(raw).toMatch(/SameSite=Strict/i);
    expect(raw).toMatch(/Path=\//);
  });

  it("refuses a wrong password and an unknown user alike (401)", async () => {
    const wrong = await login({ username: "alice", password: "wrong password" });
    const unknown = await login({ username: "mallory", password: "whatever1" });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json().message).toBe(unknown.json().message);
    expect(wrong.headers["set-cookie"]).toBeUndefined();
  });

  it("answers 400 naming the field for a malformed login body", async () => {
    const res = await login({ username: "alice" });
    expect(res.statusCode).toBe(400);
    expect(res.json().field).toMatch(/^body/);
  });

  it("serves /api/vehicles and /ws with the cookie alone, and logout ends both", async () => {
    const cookie = sessionCookie(await login({ username: "alice", password: "correct horse battery" }));
    const list = await h.app.inject({ url: "/api/vehicles", headers: { cookie } });
    expect(list.statusCode).toBe(200);

    const ws = await openWs(`ws://${base}/ws`, { cookie });
    ws.send({ type: "subscribe" });
    await ws.next((m) => m.type === "snapshot", 0, "snapshot");
    ws.close();

    const out = await h.app.inject({ method: "POST", url: "/api/auth/logout", headers: { cookie } });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers["set-cookie"])).toMatch(/lt_session=;/);
    expect((await h.app.inject({ url: "/api/vehicles", headers: { cookie } })).statusCode).toBe(401);
    await expect(openWs(`ws://${base}/ws`, { cookie })).rejects.toThrow("HTTP 401");
    await expect(openWs(`ws://${base}/ws`)).rejects.toThrow("HTTP 401");
  });

  it("closes a live socket opened with a session cookie when the session reaches its absolute expiry", async () => {
    const cookie = sessionCookie(await login({ username: "alice", password: "correct horse battery" }));
    // the session's SESSION_TTL_HOURS end, brought forward to 3 s from now
    const ended = await h.pool.query(
      "UPDATE sessions SET expires_at = now() + interval '3 seconds' WHERE expires_at > now() + interval '1 minute'",
    );
    expect(ended.rowCount).toBeGreaterThan(0);
    const ws = await openWs(`ws://${base}/ws`, { cookie });
    ws.send({ type: "subscribe" });
    await ws.next((m) => m.type === "snapshot", 0, "snapshot");
    expect(await ws.closed).toBe(1008);
    await expect(openWs(`ws://${base}/ws`, { cookie })).rejects.toThrow("HTTP 401");
  });

  it("answers the web app's session question with 200 either way (no failed request when logged out)", async () => {
    const none = await h.app.inject({ url: "/api/auth/session" });
    expect(none.statusCode).toBe(200);
    expect(none.json()).toEqual({ session: null });
    expect(none.headers["cache-control"]).toBe("no-store");
    const cookie = sessionCookie(await login({ username: "victor", password: "viewer password" }));
    const mine = await h.app.inject({ url: "/api/auth/session", headers: { cookie } });
    expect(mine.json()).toEqual({ session: { name: "victor", role: "viewer" } });
    // /me keeps its 401: every authenticated route answers one to an unknown caller
    expect((await h.app.inject({ url: "/api/auth/me" })).statusCode).toBe(401);
  });

  it("gives a viewer's session read access only (403 on writes)", async () => {
    const cookie = sessionCookie(await login({ username: "victor", password: "viewer password" }));
    expect((await h.app.inject({ url: "/api/vehicles", headers: { cookie } })).statusCode).toBe(200);
    const me = await h.app.inject({ url: "/api/auth/me", headers: { cookie } });
    expect(me.json()).toEqual({ name: "victor", role: "viewer" });
    const post = await h.app.inject({
      method: "POST",
      url: "/api/vehicles",
      headers: { cookie },
      payload: { id: "by-viewer" },
    });
    expect(post.statusCode).toBe(403);
  });

  it("opens a session with an API token, with the token's role", async () => {
    const res = await login({ token: h.viewerToken });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: "test-viewer", role: "viewer" });
    expect((await login({ token: "lt_not-a-real-token-at-all" })).statusCode).toBe(401);
  });

  it("rate-limits login attempts per client (429)", async () => {
    // a Redis of its own: the count lives in Redis, where the other app's logins were counted too
    const limited = await startApi({ env: { LOGIN_RATE_LIMIT: "3" } });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await limited.app.inject({
          method: "POST",
          url: "/api/auth/login",
          payload: { username: "nobody", password: "guess-guess" },
        });
        codes.push(r.statusCode);
      }
      expect(codes).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await limited.close();
    }
  });

  it("marks the cookie Secure behind a TLS proxy only when TRUST_PROXY is set, and keys rate limits by the forwarded address", async () => {
    const forwarded = { "x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.7" };
    const plain = await h.app.inject({
      method: "POST",
      url: "/api/auth/login",
      headers: forwarded,
      payload: { username: "alice", password: "correct horse battery" },
    });
    expect(String(plain.headers["set-cookie"])).not.toMatch(/Secure/i);
    const proxied = await startApi({
      env: { TRUST_PROXY: "true", LOGIN_RATE_LIMIT: "1" },
      redisUrl: h.redisUrl,
    });
    try {
      await addUser(proxied.pool, { username: "alice", password: "correct horse battery", role: "admin" });
      const attempt = (ip: string) =>
        proxied.app.inject({
          method: "POST",
          url: "/api/auth/login",
          headers: { ...forwarded, "x-forwarded-for": ip },
          payload: { username: "alice", password: "correct horse battery" },
        });
      const first = await attempt("203.0.113.7");
      expect(first.statusCode).toBe(200);
      expect(String(first.headers["set-cookie"])).toMatch(/; Secure/i);
      expect((await attempt("203.0.113.7")).statusCode).toBe(429);
      expect((await attempt("198.51.100.9")).statusCode).toBe(200);
    } finally {
      await proxied.close();
    }
  });

  it("generates the first admin token into DATA_DIR (mode 0600) once, and honours ADMIN_TOKEN", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lt-admin-"));
    try {
      const first = await ensureAdminToken(h.pool, { dataDir: dir });
      expect(first.source).toBe("generated");
      const token = first.source === "generated" ? first.token : "";
      const file = join(dir, "admin-token");
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await readFile(file, "utf8")).trim()).toBe(token);
      const me = await h.app.inject({ url: "/api/auth/me", headers: h.bearer(token) });
      expect(me.json()).toMatchObject({ role: "admin" });

      const second = await ensureAdminToken(h.pool, { dataDir: dir });
      expect(second.source).toBe("file");
      expect((await readFile(file, "utf8")).trim()).toBe(token);

      const fromEnv = "env-admin-token-0123456789";
      expect((await ensureAdminToken(h.pool, { dataDir: dir, adminToken: fromEnv })).source).toBe("env");
      const envMe = await h.app.inject({ url: "/api/auth/me", headers: h.bearer(fromEnv) });
      expect(envMe.json()).toMatchObject({ role: "admin" });
      // a changed ADMIN_TOKEN replaces the old one
      await ensureAdminToken(h.pool, { dataDir: dir, adminToken: `${fromEnv}-new` });
      expect((await h.app.inject({ url: "/api/auth/me", headers: h.bearer(fromEnv) })).statusCode).toBe(401);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("adds users and tokens from the CLI (user add, token add --json)", async () => {
    const env = { ...process.env, DATABASE_URL: h.config.DATABASE_URL, REDIS_URL: h.config.REDIS_URL };
    const cli = (args: string[]) =>
      run(process.execPath, ["--import", "tsx", "scripts/cli.ts", ...args], { env });
    const user = JSON.parse((await cli(["user", "add", "carol", "--role", "viewer", "--json"])).stdout);
    expect(user).toMatchObject({ username: "carol", role: "viewer" });
    expect((await login({ username: "carol", password: user.password })).statusCode).toBe(200);

    const token = JSON.parse(
      (await cli(["token", "add", "--role", "admin", "--name", "ci", "--json"])).stdout,
    );
    expect(token).toMatchObject({ name: "ci", role: "admin" });
    const me = await h.app.inject({ url: "/api/auth/me", headers: h.bearer(token.token) });
    expect(me.json()).toEqual({ name: "ci", role: "admin" });
    const expiring = JSON.parse(
      (await cli(["token", "add", "--role", "viewer", "--name", "ci-30d", "--expires", "30d", "--json"]))
        .stdout,
    );
    const days = (Date.parse(expiring.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
    const listed = JSON.parse((await cli(["token", "list", "--json"])).stdout);
    expect(listed.find((x: { name: string }) => x.name === "ci-30d").expiresAt).toBe(expiring.expiresAt);
    await expect(cli(["token", "add", "--role", "viewer", "--expires", "2020-01-01"])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--expires: 2020-01-01: must be in the future"),
    });

    await expect(cli(["user", "add", "dave", "--role", "root"])).rejects.toMatchObject({ code: 2 });
  });
});
