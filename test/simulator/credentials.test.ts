import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../core/free-port.ts";
import {
  type DatabaseTarget,
  ensureCredentials,
  readCredentialsFile,
  vehicleIds,
} from "../../simulator/credentials.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A URL nothing listens on: a port the kernel just gave us, closed again. */
async function deadUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let raw = "";
  for await (const chunk of req) raw += chunk;
  return raw ? JSON.parse(raw) : {};
}

describe("simulator credentials", () => {
  let p: TestPlatform;
  let dir: string;
  let db: () => DatabaseTarget;
  const noDatabase = () => {
    throw new Error("the database must not be used here");
  };

  beforeAll(async () => {
    p = await startPlatform({ worker: false });
    dir = mkdtempSync(join(tmpdir(), "sim-creds-"));
    db = () => ({ databaseUrl: p.config.DATABASE_URL, redisUrl: p.config.REDIS_URL });
  });
  afterAll(async () => {
    await p?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("registers in PostgreSQL when the API is unreachable, writes a 0600 file, and reuses it", async () => {
    const file = join(dir, "a", "creds.json");
    const api = { url: await deadUrl() };
    const ids = vehicleIds("cred", 3);
    expect(ids).toEqual(["cred-0001", "cred-0002", "cred-0003"]);

    const first = await ensureCredentials({ file, ids, api, database: db });
    expect(first.map((c) => c.username)).toEqual(ids);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readCredentialsFile(file)).toEqual(first);
    const rows = await p.pool.query("SELECT id FROM vehicles WHERE id LIKE 'cred-%' ORDER BY id");
    expect(rows.rows.map((r) => r.id)).toEqual(ids);
    const client = await p.connect(first[0] as (typeof first)[0]);
    expect(client.connected).toBe(true);

    // a second run registers nothing it already has, only the new truck
    const again = await ensureCredentials({ file, ids, api, database: noDatabase });
    expect(again).toEqual(first);
    const more = await ensureCredentials({ file, ids: vehicleIds("cred", 4), api, database: db });
    expect(more.slice(0, 3)).toEqual(first);
    expect(more[3]?.id).toBe("cred-0004");
  });

  it("issues new secrets with --register: the old session is dropped and its secret refused", async () => {
    const file = join(dir, "b.json");
    const ids = vehicleIds("rot", 1);
    const [old] = await ensureCredentials({ file, ids, database: db });
    const live = await p.connect(old as NonNullable<typeof old>);
    const [fresh] = await ensureCredentials({ file, ids, database: db, fresh: true });
    expect(fresh?.password).not.toBe(old?.password);
    // the broker hears of the rotation (control channel): it drops the session and the cached secret
    await waitFor(
      async () => live.connected,
      (c) => !c,
      { what: "old session closed" },
    );
    await expect(p.connect(old as NonNullable<typeof old>)).rejects.toThrow(/Bad username or password/i);
    expect((await p.connect(fresh as NonNullable<typeof fresh>)).connected).toBe(true);
  });

  it("registers through POST /api/vehicles with the admin token, rotating vehicles that already exist", async () => {
    const seen: { path: string; auth: string | undefined; body: Record<string, unknown> }[] = [];
    const server = createServer(async (req, res) => {
      const b = await body(req);
      seen.push({ path: req.url ?? "", auth: req.headers.authorization, body: b });
      const json = (status: number, value: unknown) =>
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
      if (req.method === "POST" && req.url === "/api/vehicles") {
        if (b.id === "api-0002") return json(409, { error: "exists" });
        return json(201, { id: b.id, credentials: { username: b.id, password: `pw-${b.id}` } });
      }
      const rotate = /^\/api\/vehicles\/([^/]+)\/credentials$/.exec(req.url ?? "");
      if (req.method === "POST" && rotate) {
        return json(200, { credentials: { username: rotate[1], password: "rotated" } });
      }
      json(404, {});
    });
    const url = await listen(server);
    try {
      const creds = await ensureCredentials({
        file: join(dir, "c.json"),
        ids: vehicleIds("api", 2),
        api: { url: `${url}/`, token: "admin-token-123456" },
        database: noDatabase,
      });
      expect(creds).toEqual([
        { id: "api-0001", username: "api-0001", password: "pw-api-0001" },
        { id: "api-0002", username: "api-0002", password: "rotated" },
      ]);
      expect(seen.every((s) => s.auth === "Bearer admin-token-123456")).toBe(true);
      expect(seen.map((s) => s.path).sort()).toEqual([
        "/api/vehicles",
        "/api/vehicles",
        "/api/vehicles/api-0002/credentials",
      ]);
    } finally {
      server.close();
    }
  });

  it("falls back to PostgreSQL while the API has no /api/vehicles route yet", async () => {
    const server = createServer((_req, res) => res.writeHead(404).end());
    const url = await listen(server);
    try {
      const [c] = await ensureCredentials({
        file: join(dir, "d.json"),
        ids: ["fallback-1"],
        api: { url },
        database: db,
      });
      expect((await p.pool.query("SELECT 1 FROM vehicles WHERE id = 'fallback-1'")).rowCount).toBe(1);
      expect((await p.connect(c as NonNullable<typeof c>)).connected).toBe(true);
    } finally {
      server.close();
    }
  });

  it("says what to do when neither the API nor a database is there", async () => {
    await expect(
      ensureCredentials({
        file: join(dir, "e.json"),
        ids: ["nowhere-1"],
        api: { url: await deadUrl() },
        database: () => undefined,
      }),
    ).rejects.toThrow(/unreachable.*npm start/);
  });
});
