import { afterEach, describe, expect, it } from "vitest";
import { addUser } from "../../../core/users.ts";
import { type ApiHarness, startApi } from "../../api/harness.ts";
import { waitFor } from "../../support/wait.ts";

// Security review finding 9 (docs/security.md): the login limits key on the address the trusted
// proxy saw, back off per account whatever the source address, and live in Redis so every API
// replica counts the same attempts. Real HTTP on loopback: 127.0.0.1 plays the reverse proxy,
// which appends the address it saw to whatever X-Forwarded-For the client wrote.
const PROXY_SAW = "203.0.113.50";

describe("finding 9: login limits an attacker cannot sidestep", () => {
  const started: ApiHarness[] = [];
  const api = async (env: Record<string, string>, redisUrl?: string) => {
    const h = await startApi({ env, ...(redisUrl ? { redisUrl } : {}) });
    started.push(h);
    return { h, base: `http://${await h.listen()}` };
  };
  afterEach(async () => {
    for (const h of started.splice(0)) await h.close();
  });

  const login = (base: string, body: object, forwardedFor?: string) =>
    fetch(`${base}/api/auth/login`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}),
      },
      body: JSON.stringify(body),
    });

  it("finding 9: behind a trusted proxy, a client rotating X-Forwarded-For still hits the per-address limit", async () => {
    // `true` (what deployments set before) now means one hop; a count and an address list also work
    for (const trust of ["true", "1", "127.0.0.1/8"]) {
      const { h, base } = await api({ TRUST_PROXY: trust, LOGIN_RATE_LIMIT: "3" });
      const codes: number[] = [];
      for (let i = 0; i < 6; i++) {
        const written = `198.51.100.${i + 1}`;
        const r = await login(
          base,
          { username: "nobody", password: "guess-guess" },
          `${written}, ${PROXY_SAW}`,
        );
        codes.push(r.status);
      }
      expect(codes, `TRUST_PROXY=${trust}`).toEqual([401, 401, 401, 429, 429, 429]);
      // another client behind the same proxy is not locked out by that one
      const other = await login(base, { username: "nobody", password: "guess-guess" }, "198.51.100.99");
      expect(other.status, `TRUST_PROXY=${trust}`).toBe(401);
      const metrics = await (await fetch(`${base}/metrics`, { headers: h.bearer(h.adminToken) })).text();
      expect(metrics).toMatch(/^logitrack_api_login_refused_total\{reason="address"\} 3$/m);
    }
  });

  it("finding 9: failed logins for one account from many addresses get a bounded backoff", async () => {
    const { h, base } = await api({
      TRUST_PROXY: "1",
      LOGIN_RATE_LIMIT: "1000",
      LOGIN_ACCOUNT_FAILURES: "3",
      LOGIN_BACKOFF_MAX_SECONDS: "2",
    });
    await addUser(h.pool, { username: "alice", password: "correct horse battery", role: "admin" });
    await addUser(h.pool, { username: "bob", password: "bob's own password", role: "viewer" });
    const from = (n: number) => `192.0.2.${n}`;

    for (let i = 1; i <= 3; i++) {
      expect((await login(base, { username: "alice", password: `wrong-${i}` }, from(i))).status).toBe(401);
    }
    // now even the right password from a fresh address waits: the account backs off, not the address
    const locked = await login(base, { username: "alice", password: "correct horse battery" }, from(50));
    expect(locked.status).toBe(429);
    expect(((await locked.json()) as { code: string }).code).toBe("E_LOGIN_BACKOFF");
    const retryAfter = Number(locked.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2);
    // other accounts are not affected
    expect((await login(base, { username: "bob", password: "bob's own password" }, from(50))).status).toBe(
      200,
    );
    // a guesser who keeps going never pushes the wait past LOGIN_BACKOFF_MAX_SECONDS (a guess that
    // lands after a backoff ended is checked, fails, and starts the next one, capped too)
    for (let i = 0; i < 10; i++) {
      const r = await login(base, { username: "alice", password: "still guessing" }, from(60 + i));
      expect([401, 429]).toContain(r.status);
      if (r.status === 429) expect(Number(r.headers.get("retry-after"))).toBeLessThanOrEqual(2);
    }
    const ok = await waitFor(
      async () =>
        (await login(base, { username: "alice", password: "correct horse battery" }, from(99))).status,
      (s) => s === 200,
      { timeoutMs: 10_000, intervalMs: 250, what: "alice's login once the bounded backoff is over" },
    );
    expect(ok).toBe(200);
    // a success forgets the failures: one more wrong password is a plain 401 again
    expect((await login(base, { username: "alice", password: "typo" }, from(1))).status).toBe(401);

    const metrics = await (await fetch(`${base}/metrics`, { headers: h.bearer(h.adminToken) })).text();
    expect(metrics).toMatch(/^logitrack_api_login_refused_total\{reason="account"\} [1-9]\d*$/m);
  });

  it("finding 9: two API instances sharing Redis share the per-address count", async () => {
    const a = await api({ LOGIN_RATE_LIMIT: "4" });
    const b = await api({ LOGIN_RATE_LIMIT: "4" }, a.h.redisUrl);
    const codes: number[] = [];
    for (const base of [a.base, b.base, a.base, b.base, a.base, b.base]) {
      codes.push((await login(base, { username: "nobody", password: "guess-guess" })).status);
    }
    expect(codes).toEqual([401, 401, 401, 401, 429, 429]);
  });
});
