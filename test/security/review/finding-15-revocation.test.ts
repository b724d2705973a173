import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENV_TOKEN_NAME, ensureAdminToken } from "../../../api/admin-token.ts";
import { addToken } from "../../../core/api-tokens.ts";
import { freePort } from "../../../core/free-port.ts";
import { addUser } from "../../../core/users.ts";
import { addIntegration } from "../../../core/vehicles.ts";
import { type ApiHarness, startApi } from "../../api/harness.ts";
import { openWs, type TestWs } from "../../api/ws-client.ts";
import { startPlatform, type TestPlatform } from "../../support/platform.ts";
import { spawnEntry } from "../../support/processes.ts";

// Security review finding 15 (docs/security.md): API tokens, users and integration accounts can
// be listed and revoked (API and CLI), revocation ends what was authenticated once (an open /ws
// socket, an MQTT session), sessions end when idle, and the generated admin token stays off stdout.
const run = promisify(execFile);
/** far above the milliseconds a revocation takes over Redis pub/sub on loopback */
const BOUND_MS = 10_000;

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${BOUND_MS} ms`)), BOUND_MS);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe("finding 15: revocation of API tokens, users, sessions and integration accounts", () => {
  let p: TestPlatform;
  let h: ApiHarness;
  let base: string;
  let admin: { authorization: string };
  const sockets: TestWs[] = [];

  beforeAll(async () => {
    p = await startPlatform({ worker: false });
    h = await startApi({ platform: p, env: { LOGIN_RATE_LIMIT: "1000" } });
    admin = h.bearer(h.adminToken);
    base = await h.listen();
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await h?.close();
    await p?.close();
  });

  const me = (headers: Record<string, string>) => h.app.inject({ url: "/api/auth/me", headers });
  async function login(payload: object): Promise<{ cookie: string }> {
    const res = await h.app.inject({ method: "POST", url: "/api/auth/login", payload });
    expect(res.statusCode, res.body).toBe(200);
    const c = res.cookies.find((x) => x.name === "lt_session");
    return { cookie: `lt_session=${c?.value}` };
  }
  async function ws(headers: Record<string, string>): Promise<TestWs> {
    const s = await openWs(`ws://${base}/ws`, headers);
    sockets.push(s);
    s.send({ type: "subscribe" });
    await s.next((m) => m.type === "snapshot", 0, "snapshot");
    return s;
  }
  const tokenId = async (name: string) => {
    const res = await h.app.inject({ url: "/api/tokens", headers: admin });
    expect(res.statusCode).toBe(200);
    const items = res.json().items as { id: number; name: string; revokedAt: string | null }[];
    return items.find((t) => t.name === name)?.id as number;
  };

  it("finding 15: a revoked API token gets 401 on its next request; its /ws socket and its sessions end", async () => {
    const t = await addToken(h.pool, { name: "f15-script", role: "viewer" });
    const bearer = h.bearer(t.token);
    const socket = await ws(bearer);
    const session = await login({ token: t.token });
    expect((await me(bearer)).statusCode).toBe(200);
    expect((await me({ cookie: session.cookie })).statusCode).toBe(200);

    const id = await tokenId("f15-script");
    const revoke = await h.app.inject({ method: "DELETE", url: `/api/tokens/${id}`, headers: admin });
    expect(revoke.statusCode, revoke.body).toBe(204);

    expect((await me(bearer)).statusCode).toBe(401);
    expect((await me({ cookie: session.cookie })).statusCode).toBe(401);
    expect(await within(socket.closed, "token's socket closed")).toBe(1008);
    const relogin = await h.app.inject({
      method: "POST",
      url: "/api/auth/login",
      payload: { token: t.token },
    });
    expect(relogin.statusCode).toBe(401);
    // listed as revoked, never with its value
    const listed = (await h.app.inject({ url: "/api/tokens", headers: admin })).json().items;
    expect(listed.find((x: { id: number }) => x.id === id)).toMatchObject({ name: "f15-script" });
    expect(listed.find((x: { id: number }) => x.id === id).revokedAt).toEqual(expect.any(String));
    expect(JSON.stringify(listed)).not.toContain(t.token);
    // only admins list or revoke
    const viewer = h.bearer(h.viewerToken);
    expect((await h.app.inject({ url: "/api/tokens", headers: viewer })).statusCode).toBe(403);
  });

  it("finding 15: a revoked ADMIN_TOKEN stays revoked when the API starts again with it", async () => {
    const value = "f15-env-admin-token-0123456789";
    const dataDir = await mkdtemp(join(tmpdir(), "lt-f15-env-"));
    try {
      expect(await ensureAdminToken(h.pool, { adminToken: value, dataDir })).toEqual({
        source: "env",
        revoked: false,
      });
      expect((await me(h.bearer(value))).statusCode).toBe(200);
      const id = await tokenId(ENV_TOKEN_NAME);
      expect(
        (await h.app.inject({ method: "DELETE", url: `/api/tokens/${id}`, headers: admin })).statusCode,
      ).toBe(204);
      // the next start registers ADMIN_TOKEN again: a revoked value is not brought back
      expect(await ensureAdminToken(h.pool, { adminToken: value, dataDir })).toEqual({
        source: "env",
        revoked: true,
      });
      expect((await me(h.bearer(value))).statusCode).toBe(401);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("finding 15: a disabled user's session cookie gets 401 and its /ws socket is closed; deleting a user does the same", async () => {
    await addUser(h.pool, { username: "f15-dora", password: "dora password", role: "viewer" });
    const dora = await login({ username: "f15-dora", password: "dora password" });
    const socket = await ws({ cookie: dora.cookie });

    const off = await h.app.inject({ method: "POST", url: "/api/users/f15-dora/disable", headers: admin });
    expect(off.statusCode, off.body).toBe(200);
    expect((await me({ cookie: dora.cookie })).statusCode).toBe(401);
    expect(await within(socket.closed, "disabled user's socket closed")).toBe(1008);
    const refused = await h.app.inject({
      method: "POST",
      url: "/api/auth/login",
      payload: { username: "f15-dora", password: "dora password" },
    });
    expect(refused.statusCode).toBe(401);
    const users = (await h.app.inject({ url: "/api/users", headers: admin })).json().items;
    expect(users.find((u: { username: string }) => u.username === "f15-dora")).toMatchObject({
      disabled: true,
      sessions: 0,
    });

    expect(
      (await h.app.inject({ method: "POST", url: "/api/users/f15-dora/enable", headers: admin })).statusCode,
    ).toBe(200);
    const again = await login({ username: "f15-dora", password: "dora password" });
    const second = await ws({ cookie: again.cookie });
    const del = await h.app.inject({ method: "DELETE", url: "/api/users/f15-dora", headers: admin });
    expect(del.statusCode).toBe(204);
    expect((await me({ cookie: again.cookie })).statusCode).toBe(401);
    expect(await within(second.closed, "deleted user's socket closed")).toBe(1008);
    expect(
      (await h.app.inject({ method: "POST", url: "/api/users/f15-dora/disable", headers: admin })).statusCode,
    ).toBe(404);
  });

  it("finding 15: log out everywhere ends every session of that user and their sockets (oneself, or by an admin)", async () => {
    await addUser(h.pool, { username: "f15-erin", password: "erin password", role: "viewer" });
    const erinLogin = { username: "f15-erin", password: "erin password" };
    const [laptop, phone] = [await login(erinLogin), await login(erinLogin)];
    const socket = await ws({ cookie: laptop.cookie });
    await addUser(h.pool, { username: "f15-finn", password: "finn password", role: "viewer" });
    const finn = await login({ username: "f15-finn", password: "finn password" });

    const all = await h.app.inject({
      method: "POST",
      url: "/api/auth/logout-all",
      headers: { cookie: phone.cookie },
    });
    expect(all.statusCode, all.body).toBe(200);
    expect(all.json()).toEqual({ sessions: 2 });
    expect((await me({ cookie: laptop.cookie })).statusCode).toBe(401);
    expect((await me({ cookie: phone.cookie })).statusCode).toBe(401);
    expect(await within(socket.closed, "logged-out user's socket closed")).toBe(1008);
    expect((await h.app.inject({ method: "POST", url: "/api/auth/logout-all" })).statusCode).toBe(401);
    // another user's session is untouched
    expect((await me({ cookie: finn.cookie })).statusCode).toBe(200);

    const byAdmin = await h.app.inject({ method: "POST", url: "/api/users/f15-finn/logout", headers: admin });
    expect(byAdmin.json()).toEqual({ sessions: 1 });
    expect((await me({ cookie: finn.cookie })).statusCode).toBe(401);
    // a logged-out user may log in again (logging out is not disabling)
    await login({ username: "f15-finn", password: "finn password" });
  });

  it("finding 15: deleting an integration account disconnects its fleet/# MQTT session, which cannot come back", async () => {
    const creds = await addIntegration(p.pool, "f15-dashboard");
    const client = await p.connect(creds);
    await client.subscribeAsync("fleet/#", { qos: 1 });
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    const listed = (await h.app.inject({ url: "/api/integrations", headers: admin })).json().items;
    expect(listed).toContainEqual(expect.objectContaining({ name: "f15-dashboard" }));

    const del = await h.app.inject({
      method: "DELETE",
      url: "/api/integrations/f15-dashboard",
      headers: admin,
    });
    expect(del.statusCode, del.body).toBe(204);
    await within(closed, "integration's MQTT session closed");
    expect(client.connected).toBe(false);
    client.end(true);
    await expect(p.connect(creds, { reconnectPeriod: 0 })).rejects.toThrow(
      /Bad username or password|Not authorized/i,
    );
  });

  it("finding 15: a session unused for SESSION_IDLE_MINUTES ends; one in use stays", async () => {
    await addUser(h.pool, { username: "f15-gus", password: "gus password", role: "viewer" });
    const gus = await login({ username: "f15-gus", password: "gus password" });
    const idle = h.config.SESSION_IDLE_MINUTES;
    // the database's clock is the session's: age its last use instead of waiting hours
    const lastUse = (minutesAgo: number) =>
      h.pool.query(
        `UPDATE sessions SET last_seen_at = now() - make_interval(mins => $1)
         WHERE user_id = (SELECT id FROM users WHERE username = 'f15-gus')`,
        [minutesAgo],
      );
    await lastUse(idle - 5);
    expect((await me({ cookie: gus.cookie })).statusCode).toBe(200);
    // that use counted: the session is fresh again
    const seen = await h.pool.query(
      `SELECT bool_and(last_seen_at > now() - interval '5 minutes') AS fresh FROM sessions
       WHERE user_id = (SELECT id FROM users WHERE username = 'f15-gus')`,
    );
    expect(seen.rows[0].fresh).toBe(true);
    await lastUse(idle + 1);
    expect((await me({ cookie: gus.cookie })).statusCode).toBe(401);
    expect(idle).toBe(12 * 60);
  });

  it("finding 15: the CLI lists and revokes tokens, users and integrations, ending live sockets too", async () => {
    const env = { ...process.env, DATABASE_URL: h.config.DATABASE_URL, REDIS_URL: h.config.REDIS_URL };
    const cli = (args: string[]) =>
      run(process.execPath, ["--import", "tsx", "scripts/cli.ts", ...args], { env });
    const t = await addToken(h.pool, { name: "f15-cli", role: "viewer" });
    const socket = await ws(h.bearer(t.token));
    const tokens = JSON.parse((await cli(["token", "list", "--json"])).stdout) as {
      id: number;
      name: string;
    }[];
    const id = tokens.find((x) => x.name === "f15-cli")?.id;
    expect(id).toEqual(expect.any(Number));
    await cli(["token", "revoke", String(id)]);
    expect((await me(h.bearer(t.token))).statusCode).toBe(401);
    expect(await within(socket.closed, "socket closed by the CLI's revoke")).toBe(1008);

    await addUser(h.pool, { username: "f15-hank", password: "hank password", role: "viewer" });
    const hank = await login({ username: "f15-hank", password: "hank password" });
    await cli(["user", "disable", "f15-hank"]);
    expect((await me({ cookie: hank.cookie })).statusCode).toBe(401);
    const users = JSON.parse((await cli(["user", "list", "--json"])).stdout);
    expect(users).toContainEqual(expect.objectContaining({ username: "f15-hank", disabled: true }));

    const creds = await addIntegration(p.pool, "f15-cli-dash");
    const client = await p.connect(creds);
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    await cli(["integration", "remove", "f15-cli-dash"]);
    await within(closed, "integration disconnected by the CLI");
    client.end(true);
  });

  it("finding 15: the generated admin token is written to a 0600 file whose path is printed, never the token", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "lt-f15-"));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: h.config.DATABASE_URL,
      REDIS_URL: h.config.REDIS_URL,
      DATA_DIR: dataDir,
      // what a container logs by default
      LOG_LEVEL: "info",
      HTTP_HOST: "127.0.0.1",
      HTTP_PORT: String(await freePort()),
    };
    delete env.ADMIN_TOKEN;
    const api = spawnEntry("api/main.ts", env, { stderr: "keep" });
    const file = join(dataDir, "admin-token");
    try {
      await api.waitForLine((l) => String(l.msg).startsWith("Server listening"), "api listening");
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const token = (await readFile(file, "utf8")).trim();
      expect(token).toMatch(/^lt_/);
      const printed = [...api.lines, ...api.errors].join("\n");
      expect(printed).toContain(file);
      expect(printed).not.toContain(token);
      expect((await me(h.bearer(token))).json()).toMatchObject({ role: "admin" });
    } finally {
      await api.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
