import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Config, loadConfig } from "../../core/config.ts";
import { createPool } from "../../core/db.ts";
import { createLogger } from "../../core/logger.ts";
import { BATCH_JOB_OPTIONS, type BatchJob, LOCATIONS_QUEUE, locationQueueName } from "../../core/queues.ts";
import { createRedis, type Redis } from "../../core/redis.ts";
import { createWorker, type LocationWorkers } from "../../worker/create-worker.ts";
import { createTestDatabase, createTestRedis } from "../support/services.ts";
import { waitFor } from "../support/wait.ts";
import { fix, noonDaysAgo } from "./harness.ts";

/**
 * Acknowledged batches must not be stranded in a queue no worker reads: the pre-partition
 * `locations` queue after an upgrade, or a partition above QUEUE_PARTITIONS after it was lowered
 * (or on a bridge configured with more).
 */
describe("location queues outside QUEUE_PARTITIONS", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let lease: Awaited<ReturnType<typeof createTestRedis>>;
  let config: Config;
  const conns: Redis[] = [];
  const conn = () => {
    const r = createRedis(lease.url);
    conns.push(r);
    return r;
  };
  let worker: LocationWorkers | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    lease = await createTestRedis();
    config = loadConfig({
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_URL: lease.url,
      QUEUE_PARTITIONS: "2",
    });
  });
  afterAll(async () => {
    await worker?.close();
    for (const c of conns) c.disconnect();
    await lease.release();
    await db.drop();
  });

  it("are found at start and drained by the worker", async () => {
    const t = noonDaysAgo(1);
    for (const [name, vehicle] of [
      [LOCATIONS_QUEUE, "legacy"],
      [locationQueueName(5), "above"],
    ] as const) {
      const q = new Queue<BatchJob>(name, { connection: conn(), defaultJobOptions: BATCH_JOB_OPTIONS });
      await q.add(
        "batch",
        { fixes: [fix(vehicle, t, 25, 55)], rejects: [], sealedAt: t },
        { jobId: `${vehicle}-job` },
      );
      await q.close();
    }
    const pool = createPool(config.DATABASE_URL, 4);
    try {
      worker = createWorker({
        config,
        pool,
        redis: conn(),
        connection: conn(),
        log: createLogger("test", "silent"),
      });
      await worker.ready;
      expect(worker.workers.map((w) => w.name).sort()).toEqual(
        ["locations", "locations-0", "locations-1", "locations-5"].sort(),
      );
      const stored = await waitFor(
        async () =>
          (
            await pool.query<{ v: string }>("SELECT vehicle_id AS v FROM vehicle_locations ORDER BY 1")
          ).rows.map((r) => r.v),
        (v) => v.length === 2,
        { what: "both stranded fixes stored" },
      );
      expect(stored).toEqual(["above", "legacy"]);
    } finally {
      await worker?.close();
      worker = undefined;
      await pool.end();
    }
  });
});
