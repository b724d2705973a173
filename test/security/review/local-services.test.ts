import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createRedis } from "../../../core/redis.ts";

// Security review finding 17 (docs/security.md): the services scripts/services provisions (these
// are the test run's own, from test/global-setup.ts) must not let any local user in.
const databaseUrl = inject("databaseUrl");
const redisUrl = inject("redisUrl");

describe("finding 17: the local services need passwords, and the platform's role is no superuser", () => {
  const clients: { end(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => {});
  });

  it("PostgreSQL refuses the platform's role without its password, and the superuser with a guessed one", async () => {
    const noPassword = new URL(databaseUrl);
    noPassword.password = "";
    const guessed = new URL(databaseUrl);
    guessed.username = "postgres";
    guessed.password = "postgres";
    for (const url of [noPassword, guessed]) {
      const c = new pg.Client({ connectionString: url.toString() });
      await expect(c.connect(), url.username).rejects.toThrow(/password/);
      await c.end().catch(() => {});
    }
  });

  it("the platform's role cannot act as a superuser", async () => {
    const c = new pg.Client({ connectionString: databaseUrl });
    clients.push(c);
    await c.connect();
    const { rows } = await c.query<{ rolsuper: boolean; rolcreaterole: boolean }>(
      "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user",
    );
    expect(rows[0]).toEqual({ rolsuper: false, rolcreaterole: false });
    // what a superuser could do and the platform never needs: run programs, read server files
    await expect(c.query("COPY (SELECT 1) TO PROGRAM 'true'")).rejects.toThrow(
      /permission denied|superuser|pg_execute_server_program/,
    );
    await expect(c.query("SELECT pg_read_file('PG_VERSION')")).rejects.toThrow(/permission denied/);
  });

  it("Redis refuses commands without the password, listens on loopback only, protected mode on", async () => {
    // a stranger on this machine speaks plain RESP to the port: refused before any command runs
    const { hostname, port } = new URL(redisUrl);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => socket.write("PUBLISH lt:control:db0 {}\r\n"));
      socket.once("data", (d) => {
        resolve(d.toString());
        socket.destroy();
      });
      socket.once("error", reject);
    });
    expect(answer).toMatch(/^-NOAUTH/);
    const redis = createRedis(redisUrl);
    try {
      expect(await redis.config("GET", "protected-mode")).toEqual(["protected-mode", "yes"]);
      expect(await redis.config("GET", "bind")).toEqual(["bind", "127.0.0.1"]);
      expect((await redis.config("GET", "requirepass"))[1]?.length).toBeGreaterThanOrEqual(32);
    } finally {
      redis.disconnect();
    }
  });

  it("an operator's shared_buffers must be a size: a value that would add a line to PostgreSQL's config is refused", () => {
    const dir = mkdtempSync(join(tmpdir(), "lt-services-"));
    try {
      const status = (value: string) =>
        spawnSync("bash", ["scripts/services", "status", "--dir", dir], {
          env: { ...process.env, LOGITRACK_PG_SHARED_BUFFERS: value },
          encoding: "utf8",
        });
      const refused = status("1GB\nfsync = off");
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain("LOGITRACK_PG_SHARED_BUFFERS must be a size");
      expect(status("2GB").status).toBe(3); // the setting passed: nothing runs in that folder
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
