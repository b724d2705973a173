import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../core/logger.ts";
import { redisKeys } from "../../core/redis.ts";
import { processBatch } from "../../worker/process-batch.ts";
import { PartitionCache } from "../../worker/store/partitions.ts";
import { fix, MINUTE, noonDaysAgo, startWorker, type WorkerHarness } from "./harness.ts";

/**
 * A queued batch PostgreSQL refuses (a value the bridge would never queue, from an older or
 * foreign producer) must not hold its good fixes for a week of retries: the refused item goes to
 * the dead letter as E_STORAGE, everything else is stored, and the job completes.
 */
describe("a batch with a value PostgreSQL refuses", () => {
  let w: WorkerHarness;
  beforeAll(async () => {
    w = await startWorker();
  });
  afterAll(() => w?.close());
  /** what the worker hands processBatch, to call it directly with a job id of the test's choice */
  const workerDeps = () => ({
    config: w.config,
    pool: w.pool,
    redis: w.redis,
    partitions: new PartitionCache(w.config.PARTITION_INTERVAL),
    log: createLogger("test", "silent"),
  });

  it("stores the good fixes, keeps the refused one in the dead letter, and completes at once", async () => {
    const t = noonDaysAgo(1);
    const fixes = Array.from({ length: 7 }, (_, i) => fix("poison", t + i * MINUTE, 25 + i * 0.001, 55));
    // speed is a PostgreSQL real: 1e39 overflows it (SQLSTATE 22003) on every attempt
    fixes[4] = { ...(fixes[4] as (typeof fixes)[number]), speed: 1e39 };
    const r = await w.send(fixes);
    expect(r.inserted).toBe(6);

    const stored = await w.pool.query<{ t: number }>(
      `SELECT (extract(epoch FROM recorded_at) * 1000)::float8 AS t FROM vehicle_locations
       WHERE vehicle_id = 'poison' ORDER BY recorded_at`,
    );
    expect(stored.rows.map((x) => x.t)).toEqual(fixes.filter((_, i) => i !== 4).map((f) => f.recordedAt));

    const dead = await w.pool.query(
      "SELECT vehicle_id, reason, detail, payload, message_id FROM rejected_messages WHERE vehicle_id = 'poison'",
    );
    expect(dead.rows).toHaveLength(1);
    expect(dead.rows[0]).toMatchObject({
      reason: "E_STORAGE",
      detail: expect.stringMatching(/^SQLSTATE 22003: .*out of range/),
      message_id: fixes[4]?.messageId,
    });
    expect(JSON.parse(dead.rows[0].payload)).toMatchObject({ recordedAt: fixes[4]?.recordedAt, speed: 1e39 });

    const jobs = await w.queue.getJobs(["completed"]);
    expect(jobs.map((j) => j.attemptsMade)).toEqual([1]);
    expect(await w.redis.hget(redisKeys.metrics, "worker_quarantined")).toBe("1");

    // the device resends the lot: the good fixes are duplicates, the refused one is refused again
    // and recorded again, as any resent reject is (a new job, a new dead-letter row)
    const again = await w.send(fixes);
    expect(again).toMatchObject({ inserted: 0, duplicates: 6 });
    const count = await w.pool.query(
      "SELECT count(*)::int AS n FROM rejected_messages WHERE vehicle_id = 'poison'",
    );
    expect(count.rows[0]?.n).toBe(2);
  });

  it("splits a retried job the same way: nothing stored twice, one dead-letter row", async () => {
    const t = noonDaysAgo(2);
    const fixes = Array.from({ length: 5 }, (_, i) => fix("poison-2", t + i * MINUTE, 25, 55));
    fixes[1] = { ...(fixes[1] as (typeof fixes)[number]), heading: -1e40 };
    const deps = workerDeps();
    const job = { fixes, rejects: [], sealedAt: Date.now() };
    // the worker died after committing, before BullMQ heard: the same job id runs again
    expect((await processBatch(deps, "same-job", job)).inserted).toBe(4);
    expect(await processBatch(deps, "same-job", job)).toMatchObject({ inserted: 0, duplicates: 4 });
    const dead = await w.pool.query(
      "SELECT reason, batch_id FROM rejected_messages WHERE vehicle_id = 'poison-2'",
    );
    expect(dead.rows).toEqual([{ reason: "E_STORAGE", batch_id: expect.stringMatching(/^same-job\//) }]);
  });

  it("does not quarantine good fixes when the failure comes from a vehicle's stored state", async () => {
    // a data error raised by the derivations of one vehicle, whatever the fix: a trigger stands in
    // for corrupted state (e.g. an overflowing running total)
    await w.pool.query(`
      CREATE FUNCTION lt_test_boom() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.vehicle_id = 'stateful' THEN RAISE EXCEPTION 'state overflow' USING ERRCODE = '22003'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER lt_test_boom BEFORE INSERT OR UPDATE ON daily_vehicle_stats
        FOR EACH ROW EXECUTE FUNCTION lt_test_boom();`);
    try {
      const t = noonDaysAgo(3);
      const deps = workerDeps();
      const job = {
        fixes: [fix("fine", t, 25, 55), fix("stateful", t, 25, 55), fix("fine", t + MINUTE, 25, 55)],
        rejects: [],
        sealedAt: Date.now(),
      };
      // the job fails (BullMQ retries it) instead of moving the good fix to the dead letter
      await expect(processBatch(deps, "state-job", job)).rejects.toMatchObject({ code: "22003" });
      const rows = await w.pool.query(
        "SELECT vehicle_id, count(*)::int AS n FROM vehicle_locations WHERE vehicle_id IN ('fine', 'stateful') GROUP BY 1 ORDER BY 1",
      );
      // what could be stored on its own was (its half committed); the stateful fix waits for the retry
      expect(rows.rows).toEqual([{ vehicle_id: "fine", n: 2 }]);
      const dead = await w.pool.query(
        "SELECT count(*)::int AS n FROM rejected_messages WHERE batch_id LIKE 'state-job%'",
      );
      expect(dead.rows[0]?.n).toBe(0);
    } finally {
      await w.pool.query("DROP TRIGGER lt_test_boom ON daily_vehicle_stats; DROP FUNCTION lt_test_boom()");
    }
  });
});
