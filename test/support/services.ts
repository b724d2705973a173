import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, inject } from "vitest";
import { migrate } from "../../core/migrate.ts";
import { createRedis, type Redis } from "../../core/redis.ts";
import { withDatabase } from "../global-setup.ts";

/**
 * A database of this test's own, cloned from the migrated template. Unique names per test file
 * instead of global resets, so files can run in parallel.
 */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = inject("databaseUrl");
  const name = `lt_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject("templateDb")}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(base, name),
    async drop() {
      const a = new pg.Client({ connectionString: base });
      await a.connect();
      // FORCE ends this database's sessions, but the non-superuser role may not end an autovacuum
      // worker's: wait for it to finish
      for (let attempt = 1; ; attempt++) {
        try {
          await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          break;
        } catch (err) {
          // a vacuum of a freshly filled database can take a while on a busy machine: up to 30 s
          if (attempt >= 120 || !/pg_signal_backend/.test((err as Error).message)) throw err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      await a.end();
    },
  };
}

/**
 * A database of this test file's own, migrated to the newest schema, and a small pool on it:
 * created before the file's tests, dropped after them (migration tests read and write it directly).
 */
export function migratedDatabase(): { pool(): pg.Pool } {
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let pool: pg.Pool | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });
  return {
    pool() {
      if (!pool) throw new Error("migratedDatabase: used outside a test");
      return pool;
    },
  };
}

/**
 * A Redis logical database (1-15) of this test's own, flushed before use: the pipeline's keys
 * (queue, live state, metrics) are then private to it. A database is leased to the test process
 * (lease key in db 0 holding its pid); a lease whose process is gone is taken over, so test files
 * running side by side never share one, and none needs a teardown to give it back.
 */
export async function createTestRedis(): Promise<{
  url: string;
  connect: () => Redis;
  release: () => Promise<void>;
}> {
  const base = inject("redisUrl");
  const r0 = createRedis(base);
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      for (let n = 1; n <= 15; n++) {
        const key = `lt:test:lease:${n}`;
        const taken =
          (await r0.set(key, String(process.pid), "NX")) === "OK" || (await takeOverDead(r0, key));
        if (!taken) continue;
        const url = new URL(base);
        url.pathname = `/${n}`;
        const r = createRedis(url.toString());
        await r.flushdb();
        r.disconnect();
        return {
          url: url.toString(),
          connect: () => createRedis(url.toString()),
          async release() {
            const r1 = createRedis(base);
            await r1.eval(RELEASE, 1, key, String(process.pid));
            r1.disconnect();
          },
        };
      }
      if (Date.now() > deadline) throw new Error("no free Redis test database (15 leased)");
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    r0.disconnect();
  }
}

const RELEASE =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
const TAKE_OVER =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0";

async function takeOverDead(r0: Redis, key: string): Promise<boolean> {
  const owner = await r0.get(key);
  if (!owner || Number(owner) === process.pid) return false;
  try {
    process.kill(Number(owner), 0);
    return false;
  } catch {
    return (await r0.eval(TAKE_OVER, 1, key, owner, String(process.pid))) === 1;
  }
}
