import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pool } from "../../core/db.ts";
import { createWorkerPool } from "../../worker/pool.ts";
import { createTestDatabase } from "../support/services.ts";

// The worker's pool keeps a connection per job slot open while the queue is idle (worker/pool.ts):
// the batches after a quiet spell run on warm PostgreSQL backends, not on new ones.

describe("the worker's PostgreSQL pool", () => {
  let db: { url: string; drop: () => Promise<void> };
  let pool: Pool;
  beforeAll(async () => {
    db = await createTestDatabase();
    // 2 partitions × 1 slot; the connections beyond them may idle 50 ms
    pool = createWorkerPool({ DATABASE_URL: db.url, QUEUE_PARTITIONS: 2, WORKER_CONCURRENCY: 1 }, 50);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it("keeps the job slots' connections, and only those, through an idle spell", async () => {
    const pid = "SELECT pg_backend_pid() AS pid";
    // five at once, as a busy worker with housekeeping and notifications beside its batches
    const clients = await Promise.all(Array.from({ length: 5 }, () => pool.connect()));
    const used = new Set<number>();
    for (const c of clients) used.add((await c.query<{ pid: number }>(pid)).rows[0]?.pid as number);
    for (const c of clients) c.release();
    expect(pool.totalCount).toBe(5);

    await new Promise((r) => setTimeout(r, 400));
    expect(pool.totalCount).toBe(2);
    // the next batches find backends that already ran statements
    const again = await Promise.all([pool.query<{ pid: number }>(pid), pool.query<{ pid: number }>(pid)]);
    for (const r of again) expect(used.has(r.rows[0]?.pid as number)).toBe(true);
  });
});
