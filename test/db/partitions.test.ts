import { afterEach, describe, expect, it } from "vitest";
import type { Fix } from "../../core/fix.ts";
import { createLogger } from "../../core/logger.ts";
import { maintainPartitions } from "../../worker/maintenance.ts";
import { DAY, fix, HOUR, MINUTE, noonDaysAgo, startWorker, type WorkerHarness } from "./harness.ts";

const log = createLogger("test", "silent");

interface Part {
  name: string;
  lo: Date;
  hi: Date;
}

describe("vehicle_locations partitions: on demand, ahead, retention", () => {
  let w: WorkerHarness | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });
  const parts = async (h: WorkerHarness) =>
    (await h.pool.query<Part>("SELECT name, lo, hi FROM location_partitions ORDER BY lo")).rows;

  it("with PARTITION_INTERVAL=month stores a fix for a month without a partition in a new month partition", async () => {
    w = await startWorker({ PARTITION_INTERVAL: "month" });
    const t = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() - 1, 17, 13, 0, 0);
    expect(await parts(w)).toEqual([]);
    const r = await w.send([fix("month-1", t, 25, 55, { speed: 0 })]);
    expect(r.inserted).toBe(1);
    const d = new Date(t);
    const ym = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
    expect(await parts(w)).toEqual([
      {
        name: `vehicle_locations_p${ym}`,
        lo: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)),
        hi: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)),
      },
    ]);

    const now = Date.now();
    const m = await maintainPartitions(w.pool, { unit: "month", ahead: 2, retentionDays: 90, now }, log);
    expect(m.created).toBe(3);
    const his = (await parts(w)).map((p) => p.hi.getTime());
    const n = new Date(now);
    expect(his).toContain(Date.UTC(n.getUTCFullYear(), n.getUTCMonth() + 3, 1));
  });

  it("fills the gap between day partitions when the interval is switched to month, instead of failing", async () => {
    w = await startWorker({ PARTITION_INTERVAL: "month" });
    const base = Date.UTC(2026, 5, 10); // June 2026
    for (const d of [0, 1, 5])
      await w.pool.query("SELECT ensure_location_partition($1, 'day')", [new Date(base + d * DAY)]);
    const r = await w.send([
      fix("switch-1", base + 3 * DAY + HOUR, 25, 55),
      fix("switch-1", base + 20 * DAY, 25, 55),
      fix("switch-1", base - 5 * DAY, 25, 55),
    ]);
    expect(r.inserted).toBe(3);
    expect(
      (await parts(w)).map((p) => [p.lo.toISOString().slice(0, 10), p.hi.toISOString().slice(0, 10)]),
    ).toEqual([
      ["2026-06-01", "2026-06-10"],
      ["2026-06-10", "2026-06-11"],
      ["2026-06-11", "2026-06-12"],
      ["2026-06-12", "2026-06-15"],
      ["2026-06-15", "2026-06-16"],
      ["2026-06-16", "2026-07-01"],
    ]);
  });

  it("never fails a batch when two workers create the same new partition at once", async () => {
    w = await startWorker({ WORKER_CONCURRENCY: "8" });
    let failures = 0;
    for (const worker of [w.worker, await w.addWorker()]) worker.on("failed", () => failures++);
    const day = Date.now() - 50 * DAY;
    const batches: Fix[][] = Array.from({ length: 24 }, (_, i) => [
      fix(`race-${i}`, day + i * MINUTE, 25, 55),
      fix(`race-${i}`, day + DAY + i * MINUTE, 25, 55),
    ]);
    const results = await w.sendAll(batches);
    expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(48);
    const attempts = await Promise.all(
      (await w.queue.getJobs(["completed"])).map(async (j) => j.attemptsMade),
    );
    expect(attempts.every((a) => a <= 1)).toBe(true);
    expect(failures).toBe(0);
  });

  it("recreates a partition dropped under a worker that still remembered it, in the same attempt", async () => {
    w = await startWorker();
    let failures = 0;
    w.worker.on("failed", () => failures++);
    const day = noonDaysAgo(30);
    await w.send([fix("dropped-under", day, 25, 55)]);
    const [part] = (await parts(w)).filter((p) => p.lo.getTime() <= day && day < p.hi.getTime());
    await w.pool.query(`DROP TABLE "${part?.name}"`);
    const r = await w.send([fix("dropped-under", day + MINUTE, 25, 55)]);
    expect(r.inserted).toBe(1);
    expect(failures).toBe(0);
    expect((await parts(w)).map((p) => p.name)).toContain(part?.name);
  });

  it("drops a partition past retention and keeps the analytics, trips and events of its days", async () => {
    w = await startWorker();
    const h = w;
    await h.pool.query(
      // created before the test's fixes: a geofence judges only fixes after its creation
      `INSERT INTO geofences (name, polygon, created_at)
       VALUES ('depot', ST_MakeEnvelope(55.29, 25.29, 55.31, 25.31, 4326), now() - interval '30 days')`,
    );
    const old = noonDaysAgo(20);
    const drive = [
      fix("retained", old, 25.3, 55.28, { speed: 0, ignition: true }),
      ...Array.from({ length: 10 }, (_, i) =>
        fix("retained", old + (i + 1) * MINUTE, 25.3, 55.282 + i * 0.004, { speed: 30, ignition: true }),
      ),
      fix("retained", old + 11 * MINUTE, 25.3, 55.32, { speed: 0, ignition: false }),
    ];
    await h.send(drive);
    const derived = async () => {
      const q = async (sql: string) => (await h.pool.query(sql)).rows;
      return {
        days: await q(
          "SELECT day, fixes, distance_m, moving_s FROM daily_vehicle_stats WHERE vehicle_id = 'retained'",
        ),
        trips: await q("SELECT started_at, ended_at, distance_m FROM trips WHERE vehicle_id = 'retained'"),
        events: await q("SELECT kind, at FROM geofence_events WHERE vehicle_id = 'retained' ORDER BY at"),
      };
    };
    const before = await derived();
    expect(before.days).toHaveLength(1);
    expect(before.trips).toHaveLength(1);
    expect(before.events.map((e) => e.kind)).toEqual(["enter", "exit"]);

    const result = await maintainPartitions(h.pool, { unit: "day", ahead: 1, retentionDays: 10 }, log);
    const oldDay = `vehicle_locations_p${new Date(old).toISOString().slice(0, 10).replaceAll("-", "")}`;
    expect(result.dropped).toContain(oldDay);
    const left = await h.pool.query(
      "SELECT count(*)::int AS n FROM vehicle_locations WHERE vehicle_id = 'retained'",
    );
    expect(left.rows[0]?.n).toBe(0);
    expect(await derived()).toEqual(before);
    const checkpoints = await h.pool.query(
      "SELECT count(*)::int AS n FROM vehicle_checkpoints WHERE vehicle_id = 'retained'",
    );
    expect(checkpoints.rows[0]?.n).toBe(0);
  });

  it("does not shrink the analytics of a day that retention already cut when a straggler lands in it", async () => {
    w = await startWorker({ RETENTION_DAYS: "10" });
    const h = w;
    const old = noonDaysAgo(12);
    await h.send(
      Array.from({ length: 5 }, (_, i) =>
        fix("cut", old + i * MINUTE, 25 + i * 0.01, 55, { speed: 40, ignition: true }),
      ),
    );
    const before = (
      await h.pool.query("SELECT fixes, distance_m FROM daily_vehicle_stats WHERE vehicle_id = 'cut'")
    ).rows;
    await maintainPartitions(h.pool, { unit: "day", ahead: 0, retentionDays: 10 }, log);
    // a fix older than the day's last one: the day cannot be recomputed from what is left
    const r = await h.send([fix("cut", old + 30_000, 25.005, 55, { speed: 40, ignition: true })]);
    expect(r.inserted).toBe(1);
    const after = (
      await h.pool.query("SELECT fixes, distance_m FROM daily_vehicle_stats WHERE vehicle_id = 'cut'")
    ).rows;
    expect(after).toEqual(before);
  });
});
