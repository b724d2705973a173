import type { Job } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Fix } from "../../core/fix.ts";
import { createLogger } from "../../core/logger.ts";
import type { BatchJob } from "../../core/queues.ts";
import { redisKeys } from "../../core/redis.ts";
import type { Reject } from "../../core/reject-reasons.ts";
import type { BatchPart, BatchResult } from "../../worker/batch-context.ts";
import type { LocationWorkers } from "../../worker/create-worker.ts";
import { processBatches } from "../../worker/process-batch.ts";
import { PartitionCache } from "../../worker/store/partitions.ts";
import { waitFor } from "../support/wait.ts";
import { fix, noonDaysAgo, startWorker, type WorkerHarness } from "./harness.ts";

/**
 * Jobs of a partition that queue up while the worker is busy (here: paused) are committed with
 * the job ahead of them in one transaction (worker/coalesce.ts), in queue order, up to
 * WORKER_COALESCE_MAX_FIXES; each still completes in its turn.
 */
const S = 1000;

/** A vehicle driving and standing by turns, a fix every 20 s: three trips, two stops. */
function drive(vehicleId: string, from = noonDaysAgo(1)): Fix[] {
  const out: Fix[] = [];
  let lng = 55.0;
  let t = from;
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < 12; i++) {
      lng += 0.003;
      out.push(fix(vehicleId, t, 25.0, lng, { speed: 54, ignition: true }));
      t += 20 * S;
    }
    for (let i = 0; i < 6; i++) {
      out.push(fix(vehicleId, t, 25.0, lng, { speed: 0, ignition: false }));
      t += 20 * S;
    }
  }
  return out;
}

/** The fixes of several vehicles interleaved as a bridge would batch them, `size` per job. */
function interleave(drives: Fix[][], size: number): Fix[][] {
  const all: Fix[] = [];
  for (let i = 0; i < Math.max(...drives.map((d) => d.length)); i++)
    for (const d of drives) if (d[i]) all.push(d[i] as Fix);
  const jobs: Fix[][] = [];
  for (let i = 0; i < all.length; i += size) jobs.push(all.slice(i, i + size));
  return jobs;
}

function reject(vehicleId: string, n: number): Reject {
  return {
    vehicleId,
    topic: `fleet/${vehicleId}/location`,
    reason: "E_BAD_JSON",
    detail: "Unexpected token",
    payload: `{bad ${n}`,
    receivedAt: Date.now(),
    messageId: `r-${vehicleId}-${n}`,
  };
}

let seq = 0;
/** the harness's running worker, when it is not the first one */
const running = new Map<WorkerHarness, LocationWorkers>();

/** Stops the harness's worker: what is queued now waits, as behind a busy worker. */
async function stop(w: WorkerHarness): Promise<void> {
  await (running.get(w) ?? w.worker).close();
}

/** Starts a worker again and waits until all these jobs have finished. */
async function restart(w: WorkerHarness, ids: readonly string[]): Promise<Job<BatchJob, BatchResult>[]> {
  running.set(w, await w.addWorker());
  const done = await waitFor(
    () => Promise.all(ids.map((id) => w.queue.getJob(id))),
    (all) => all.every((j) => j?.finishedOn !== undefined),
    { what: "every job finished" },
  );
  return done as Job<BatchJob, BatchResult>[];
}

/** Queues the jobs while the worker is stopped, then starts it and waits until all have finished. */
async function drain(w: WorkerHarness, jobs: BatchJob[]): Promise<Job<BatchJob, BatchResult>[]> {
  await stop(w);
  const prefix = `c${++seq}`;
  const ids = jobs.map((_, i) => `${prefix}-${String(i).padStart(3, "0")}`);
  await w.queue.addBulk(jobs.map((data, i) => ({ name: "batch", data, opts: { jobId: ids[i] } })));
  return restart(w, ids);
}

const metric = async (w: WorkerHarness, name: string) =>
  Number((await w.redis.hget(redisKeys.metrics, name)) ?? 0);

/** Trips, stops, days and state derived for a vehicle, comparable across vehicles. */
async function derived(w: WorkerHarness, vehicleId: string) {
  const q = async (sql: string) => (await w.pool.query(sql, [vehicleId])).rows;
  return {
    trips: await q(
      `SELECT started_at, ended_at, closed_at, round(distance_m::numeric, 3) AS d, max_speed_kmh
       FROM trips WHERE vehicle_id = $1 ORDER BY started_at`,
    ),
    stops: await q(
      "SELECT started_at, ended_at, closed_at FROM stops WHERE vehicle_id = $1 ORDER BY started_at",
    ),
    days: await q(
      `SELECT day, fixes, round(distance_m::numeric, 3) AS d, moving_s, idle_s, first_fix_at, last_fix_at
       FROM daily_vehicle_stats WHERE vehicle_id = $1 ORDER BY day`,
    ),
    state: await q("SELECT last_fix_at, moving FROM vehicle_state WHERE vehicle_id = $1"),
  };
}

/** Each transaction's jobs: a lead (result.coalesced = n) and the n jobs right after it. */
function transactions(jobs: Job<BatchJob, BatchResult>[]): string[][] {
  const out: string[][] = [];
  for (const j of jobs) {
    const with_ = j.returnvalue.committedWith;
    if (with_ === undefined) out.push([j.id as string]);
    else out[out.length - 1]?.push(`${j.id}<${with_}`);
  }
  return out;
}

const count = async (w: WorkerHarness, sql: string, ...params: unknown[]) =>
  Number((await w.pool.query<{ n: number }>(sql, params)).rows[0]?.n);

describe("jobs queued behind a busy worker (WORKER_COALESCE_MAX_FIXES 5000, the default)", () => {
  let w: WorkerHarness;
  beforeAll(async () => {
    w = await startWorker();
  });
  afterAll(() => w?.close());

  it("are committed in one transaction, each job completing in queue order, and derive what one-by-one gives", async () => {
    expect(w.config.WORKER_COALESCE_MAX_FIXES).toBe(5000);
    // the reference: the same drive, one job at a time
    for (const part of interleave([drive("one-by-one")], 10)) await w.send(part);
    const batchesBefore = await metric(w, "worker_batches");

    const drives = [drive("co-a"), drive("co-b"), drive("co-c")];
    const parts = interleave(drives, 10);
    const jobs = parts.map((fixes, i) => ({
      fixes,
      rejects: i % 5 === 0 ? [reject("co-a", i)] : [],
      sealedAt: Date.now(),
    }));
    const done = await drain(w, jobs);

    expect(await metric(w, "worker_batches")).toBe(batchesBefore + 1);
    expect(await metric(w, "worker_jobs_coalesced")).toBe(jobs.length - 1);
    expect(transactions(done)).toEqual([done.map((j, i) => (i === 0 ? j.id : `${j.id}<${done[0]?.id}`))]);
    expect(done[0]?.returnvalue).toMatchObject({ inserted: 3 * 54, coalesced: jobs.length - 1 });
    // each job was still taken in its turn, after the one before it finished
    const byStart = [...done].sort((a, b) => (a.processedOn ?? 0) - (b.processedOn ?? 0));
    expect(byStart.map((j) => j.id)).toEqual(done.map((j) => j.id));
    for (let i = 1; i < done.length; i++)
      expect(done[i]?.processedOn).toBeGreaterThanOrEqual(done[i - 1]?.finishedOn ?? Number.NaN);
    expect(await w.queue.getJobCounts("wait", "active", "delayed", "failed")).toEqual({
      wait: 0,
      active: 0,
      delayed: 0,
      failed: 0,
    });

    const reference = await derived(w, "one-by-one");
    expect(reference.trips).toHaveLength(3);
    for (const v of ["co-a", "co-b", "co-c"]) {
      const got = await derived(w, v);
      expect(got.trips.map(({ d, max_speed_kmh }) => ({ d, max_speed_kmh }))).toEqual(
        reference.trips.map(({ d, max_speed_kmh }) => ({ d, max_speed_kmh })),
      );
      expect(got.stops).toHaveLength(reference.stops.length);
      expect(got.days.map((d) => d.fixes)).toEqual(reference.days.map((d) => d.fixes));
    }
    // each job's rejects under its own id
    const dead = await w.pool.query<{ batch_id: string }>(
      "SELECT batch_id FROM rejected_messages WHERE vehicle_id = 'co-a' ORDER BY batch_id",
    );
    expect(dead.rows.map((r) => r.batch_id)).toEqual(done.filter((_, i) => i % 5 === 0).map((j) => j.id));
  });

  it("reads a backlog larger than one look at the queue (bytes per look are bounded) into the same transaction", async () => {
    const batchesBefore = await metric(w, "worker_batches");
    // fixes of ~2 KB: one look reads ~1 MB (5000 x 200 bytes), the 120 jobs hold ~2.4 MB
    const d = [...drive("big", noonDaysAgo(2)), ...drive("big", noonDaysAgo(2) + 3_600_000)];
    const jobs: BatchJob[] = [];
    for (let k = 0; k < 120; k++) {
      const f = d[k % d.length] as Fix;
      jobs.push({
        fixes: Array.from({ length: 10 }, (_, i) => ({
          ...f,
          vehicleId: `big-${i}`,
          recordedAt: f.recordedAt + Math.floor(k / d.length) * 1000,
          attributes: { note: "x".repeat(2000) },
        })),
        rejects: [],
        sealedAt: Date.now(),
      });
    }
    const done = await drain(w, jobs);
    expect(await metric(w, "worker_batches")).toBe(batchesBefore + 1);
    expect(transactions(done)).toHaveLength(1);
    expect(
      await count(w, "SELECT count(*)::int AS n FROM vehicle_locations WHERE vehicle_id LIKE 'big-%'"),
    ).toBe(1200);
  });
});

describe("jobs queued behind a busy worker, WORKER_COALESCE_MAX_FIXES 25", () => {
  let w2: WorkerHarness;
  beforeAll(async () => {
    w2 = await startWorker({ WORKER_COALESCE_MAX_FIXES: "25" });
  });
  afterAll(() => w2?.close());

  it("stops at the cap in queue order, and takes a job larger than the cap alone", async () => {
    {
      const d = [...drive("cap"), ...drive("cap", noonDaysAgo(1) + 30 * 60 * S)];
      // 10 + 10 fit in 25, a third does not; the 30-fix job is over the cap on its own; 5 + 10 + 12 > 25
      const sizes = [10, 10, 10, 10, 30, 5, 10, 12];
      const jobs: BatchJob[] = [];
      let at = 0;
      for (const n of sizes) {
        jobs.push({ fixes: d.slice(at, at + n), rejects: [], sealedAt: Date.now() });
        at += n;
      }
      const done = await drain(w2, jobs);
      const ids = done.map((j) => j.id as string);
      expect(transactions(done)).toEqual([
        [ids[0], `${ids[1]}<${ids[0]}`],
        [ids[2], `${ids[3]}<${ids[2]}`],
        [ids[4]],
        [ids[5], `${ids[6]}<${ids[5]}`],
        [ids[7]],
      ]);
      expect(await metric(w2, "worker_batches")).toBe(5);
      expect(
        await count(w2, "SELECT count(*)::int AS n FROM vehicle_locations WHERE vehicle_id = 'cap'"),
      ).toBe(at);
      // in order: nothing arrived late, nothing replayed
      expect(
        await count(
          w2,
          "SELECT count(*)::int AS n FROM location_anomalies WHERE vehicle_id = 'cap' AND kind <> 'skewed'",
        ),
      ).toBe(0);
      expect(await metric(w2, "worker_replays")).toBe(0);
    }
  });
});

describe("a coalesced batch with a value PostgreSQL refuses", () => {
  let w: WorkerHarness;
  beforeAll(async () => {
    w = await startWorker();
  });
  afterAll(() => w?.close());

  it("quarantines the refused item under its own job and stores every other job's fixes", async () => {
    const d = drive("poison-co");
    const jobs: BatchJob[] = [0, 1, 2, 3].map((k) => ({
      fixes: d.slice(k * 10, k * 10 + 10),
      rejects: [reject("poison-co", k)],
      sealedAt: Date.now(),
    }));
    // speed is a PostgreSQL real: 1e39 overflows it (SQLSTATE 22003) on every attempt
    const bad = jobs[2]?.fixes[3] as Fix;
    (jobs[2] as BatchJob).fixes[3] = { ...bad, speed: 1e39 };
    const done = await drain(w, jobs);

    expect(done.map((j) => j.attemptsMade)).toEqual([1, 1, 1, 1]);
    expect(
      await count(w, "SELECT count(*)::int AS n FROM vehicle_locations WHERE vehicle_id = 'poison-co'"),
    ).toBe(39);
    const dead = await w.pool.query<{ reason: string; batch_id: string; message_id: string }>(
      "SELECT reason, batch_id, message_id FROM rejected_messages WHERE vehicle_id = 'poison-co' ORDER BY batch_id, seq",
    );
    const ids = done.map((j) => j.id as string);
    // the refused job's own rows keyed as when it is processed alone: by its id and quarantine split
    expect(dead.rows.filter((r) => r.reason === "E_BAD_JSON").map((r) => r.batch_id.split("/")[0])).toEqual(
      ids,
    );
    expect(dead.rows.filter((r) => r.reason === "E_STORAGE")).toEqual([
      {
        reason: "E_STORAGE",
        batch_id: expect.stringMatching(new RegExp(`^${ids[2]}/`)),
        message_id: bad.messageId,
      },
    ]);
    expect(await metric(w, "worker_quarantined")).toBe(1);
  });
});

describe("a worker killed after a coalesced COMMIT, before its jobs were marked", () => {
  let w: WorkerHarness;
  beforeAll(async () => {
    // the worker that picks up after it coalesces in threes (3 x 11 items), not all six at once
    w = await startWorker({ WORKER_COALESCE_MAX_FIXES: "35" });
  });
  afterAll(() => w?.close());

  it("leaves the jobs queued; committed again, they lose nothing and store nothing twice", async () => {
    const drives = [drive("crash-a"), drive("crash-b")];
    const parts = interleave(drives, 10).slice(0, 6);
    const jobs: BatchJob[] = parts.map((fixes, i) => ({
      fixes,
      rejects: [reject("crash-a", i)],
      sealedAt: Date.now(),
    }));
    const fixes = jobs.reduce((n, j) => n + j.fixes.length, 0);
    await stop(w);
    const ids = jobs.map((_, i) => `crash-${i}`);
    await w.queue.addBulk(jobs.map((data, i) => ({ name: "batch", data, opts: { jobId: ids[i] } })));

    // the dead worker's transaction: all six jobs, committed; it died before marking them
    const deps = {
      config: w.config,
      pool: w.pool,
      redis: w.redis,
      partitions: new PartitionCache(w.config.PARTITION_INTERVAL),
      log: createLogger("test", "silent"),
    };
    const all: BatchPart[] = jobs.map((job, i) => ({ id: ids[i] as string, job }));
    await expect(
      processBatches(deps, all, async () => {
        throw new Error("killed before the mark");
      }),
    ).rejects.toThrow("killed before the mark");
    expect(
      await count(w, "SELECT count(*)::int AS n FROM vehicle_locations WHERE vehicle_id LIKE 'crash-%'"),
    ).toBe(fixes);
    const before = await derived(w, "crash-a");
    const inserted = await metric(w, "worker_fixes_inserted");

    const done = await restart(w, ids);
    expect(transactions(done)).toEqual([
      [ids[0], `${ids[1]}<${ids[0]}`, `${ids[2]}<${ids[0]}`],
      [ids[3], `${ids[4]}<${ids[3]}`, `${ids[5]}<${ids[3]}`],
    ]);
    expect(
      await count(w, "SELECT count(*)::int AS n FROM vehicle_locations WHERE vehicle_id LIKE 'crash-%'"),
    ).toBe(fixes);
    expect(await metric(w, "worker_fixes_inserted")).toBe(inserted);
    expect(await metric(w, "worker_fixes_duplicate")).toBe(fixes);
    // one dead-letter row per reject, keyed by its own job whatever batch committed it
    const dead = await w.pool.query<{ batch_id: string }>(
      "SELECT batch_id FROM rejected_messages WHERE vehicle_id = 'crash-a' ORDER BY batch_id",
    );
    expect(dead.rows.map((r) => r.batch_id)).toEqual(ids);
    expect(await derived(w, "crash-a")).toEqual(before);
    expect(before.trips.length).toBeGreaterThan(0);
  });
});

describe("coalescing off", () => {
  const envs: Record<string, string>[] = [{ WORKER_COALESCE_MAX_FIXES: "0" }, { WORKER_CONCURRENCY: "2" }];
  for (const env of envs) {
    it(`with ${JSON.stringify(env)}: one transaction per job`, async () => {
      const w = await startWorker(env);
      try {
        const d = drive("alone");
        const jobs = [0, 1, 2, 3, 4].map((k) => ({
          fixes: d.slice(k * 10, k * 10 + 10),
          rejects: [],
          sealedAt: Date.now(),
        }));
        const done = await drain(w, jobs);
        expect(done.map((j) => j.returnvalue.inserted)).toEqual([10, 10, 10, 10, 10]);
        expect(await metric(w, "worker_batches")).toBe(5);
        expect(await metric(w, "worker_jobs_coalesced")).toBe(0);
      } finally {
        await w.close();
      }
    });
  }
});

describe("a young first job lingers (WORKER_LINGER_MS)", () => {
  /** Job a on an idle worker, job b `gapMs` later; the transactions they were committed in. */
  async function twoJobs(w: WorkerHarness, gapMs: number): Promise<string[][]> {
    const prefix = `l${++seq}`;
    const [a, b] = interleave([drive(`${prefix}-v`)], 27);
    await w.queue.add(
      "batch",
      { fixes: a as Fix[], rejects: [], sealedAt: Date.now() },
      { jobId: `${prefix}-a` },
    );
    await new Promise((r) => setTimeout(r, gapMs));
    await w.queue.add(
      "batch",
      { fixes: b as Fix[], rejects: [], sealedAt: Date.now() },
      { jobId: `${prefix}-b` },
    );
    const done = await waitFor(
      () => Promise.all([w.queue.getJob(`${prefix}-a`), w.queue.getJob(`${prefix}-b`)]),
      (all) => all.every((j) => j?.finishedOn !== undefined),
      { what: "both jobs finished" },
    );
    return transactions(done as Job<BatchJob, BatchResult>[]);
  }

  it("takes the jobs queued while it waits into its transaction", async () => {
    const w = await startWorker({ WORKER_LINGER_MS: "600" });
    try {
      expect(await twoJobs(w, 150)).toEqual([
        [expect.stringMatching(/-a$/), expect.stringMatching(/-b<.*-a$/)],
      ]);
    } finally {
      await w.close();
    }
  });

  it("with 0, commits a job alone when nothing waits behind it as it starts", async () => {
    const w = await startWorker({ WORKER_LINGER_MS: "0" });
    try {
      expect(await twoJobs(w, 600)).toEqual([[expect.stringMatching(/-a$/)], [expect.stringMatching(/-b$/)]]);
    } finally {
      await w.close();
    }
  });
});
