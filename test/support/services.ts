import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
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
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

/**
 * A Redis logical database of this test's own (1-15, taken round-robin with a counter in db 0),
 * flushed before use. The pipeline's keys (queue, live state, metrics) are then private to it.
 */
export async function createTestRedis(): Promise<{ url: string; connect: () => Redis }> {
  const base = inject("redisUrl");
  const r0 = createRedis(base);
  const n = await r0.incr("lt:test:db-counter");
  r0.disconnect();
  const url = new URL(base);
  url.pathname = `/${(n % 15) + 1}`;
  const r = createRedis(url.toString());
  await r.flushdb();
  r.disconnect();
  return { url: url.toString(), connect: () => createRedis(url.toString()) };
}
