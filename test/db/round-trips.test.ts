import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPool } from "../../core/db.ts";
import type { Fix } from "../../core/fix.ts";
import { createLogger } from "../../core/logger.ts";
import { createRedis, type Redis } from "../../core/redis.ts";
import { processBatch } from "../../worker/process-batch.ts";
import { PartitionCache } from "../../worker/store/partitions.ts";
import { pipelined, send } from "../../worker/store/pipeline.ts";
import { countRoundTrips, type RoundTrips } from "../support/round-trips.ts";
import { fix, noonDaysAgo, startWorker, type WorkerHarness } from "./harness.ts";

const S = 1000;
const SIZES = [1, 10, 100] as const;

/**
 * A batch costs a fixed number of round trips to PostgreSQL and Redis, however many vehicles and
 * fixes it holds and whatever it derives: the statements are set-based over the whole batch, the
 * writes whose answers are not needed go out with the next read or the COMMIT (process-batch.ts,
 * pg's pipeline mode), and Redis gets one pipeline after the COMMIT (metrics.ts).
 */
describe("round trips per batch", () => {
  let w: WorkerHarness;
  let deps: Parameters<typeof processBatch>[0];
  let pool: pg.Pool;
  let redis: Redis;
  const t0 = noonDaysAgo(1);
  beforeAll(async () => {
    w = await startWorker();
    // a pool and a connection of their own: the harness's worker runs its sweeps on w.pool
    pool = createPool(w.config.DATABASE_URL, 2);
    redis = createRedis(w.config.REDIS_URL);
    deps = {
      config: w.config,
      pool,
      redis,
      partitions: new PartitionCache(w.config.PARTITION_INTERVAL),
      log: createLogger("test", "silent"),
    };
    await w.pool.query(
      `INSERT INTO geofences (name, polygon, dwell_seconds, created_at)
       VALUES ('rt depot', ST_MakeEnvelope(55.29, 25.29, 55.31, 25.31, 4326), 0, now() - interval '30 days')`,
    );
    // the day's partition, made before counting (a new partition is a round trip of its own)
    await processBatch(deps, "warm-up", { fixes: [fix("rt-warm", t0, 10, 10)], rejects: [], sealedAt: t0 });
    // and the geofence's versions, which the process keeps until a geofence is saved again
    await processBatch(deps, "warm-up-fence", {
      fixes: [fix("rt-warm-fence", t0, 25.3, 55.3)],
      rejects: [],
      sealedAt: t0,
    });
  });
  afterAll(async () => {
    redis?.disconnect();
    await pool?.end();
    await w?.close();
  });

  /** vehicle k of a fleet of n: east along `lat` from 55.271, 0.002° every 30 s from fix `from` on */
  const track = (fleet: string, n: number, lat: number, from: number, count: number, offset = 0): Fix[] =>
    Array.from({ length: n }, (_, k) =>
      Array.from({ length: count }, (_, j) => {
        const i = from + j;
        return fix(`${fleet}-${n}-${k}`, t0 + i * 30 * S + offset, lat + k * 0.0001, 55.271 + i * 0.002, {
          speed: 25,
          ignition: true,
        });
      }),
    ).flat();

  /**
   * Each step is one batch per fleet size, in this order; the fixes per vehicle are the same for
   * every size. `pg`: the round trips to PostgreSQL; before the batch's transaction was pipelined
   * they were one per statement: 18, 12, 13, 19, 8, 20, 14 and 19. What still adds one: a late fix
   * (its checkpoint is read before the tracks), a replay or a vehicle's first batch (the stored
   * alert episodes are read after the machine ran: reconcile-alerts.ts), and a geofence whose
   * versions this process has not read since the last geofence save (warmed up in beforeAll).
   */
  const steps: { name: string; pg: number; fixes: (n: number) => Fix[] }[] = [
    { name: "first batch of new vehicles", pg: 4, fixes: (n) => track("plain", n, 10, 0, 5) },
    { name: "in order", pg: 3, fixes: (n) => track("plain", n, 10, 5, 5) },
    // 20 minutes of silence: the trip ends (TRIP_GAP_SECONDS), a trip row is written
    { name: "in order, a trip closed", pg: 3, fixes: (n) => track("plain", n, 10, 50, 5) },
    { name: "late fixes (replay)", pg: 5, fixes: (n) => track("plain", n, 10, 2, 3, 15 * S) },
    { name: "a resent batch (duplicates)", pg: 3, fixes: (n) => track("plain", n, 10, 5, 5) },
    { name: "first batch into a geofence", pg: 4, fixes: (n) => track("fenced", n, 25.3, 0, 15) },
    { name: "geofence exit", pg: 3, fixes: (n) => track("fenced", n, 25.3, 15, 10) },
    {
      name: "late fixes in a geofence (replay, retraction)",
      pg: 5,
      fixes: (n) => track("fenced", n, 25.3, 12, 2, 9 * S),
    },
  ];

  it("is the same for 1, 10 and 100 vehicles, for every kind of batch", async () => {
    const counter = countRoundTrips(pool, redis);
    const table: Record<string, Record<number, RoundTrips>> = {};
    try {
      for (const step of steps) {
        table[step.name] = {};
        for (const n of SIZES) {
          const fixes = step.fixes(n);
          counter.reset();
          await processBatch(deps, `${step.name}-${n}`, { fixes, rejects: [], sealedAt: Date.now() });
          (table[step.name] as Record<number, RoundTrips>)[n] = { ...counter.counts };
        }
      }
    } finally {
      counter.restore();
    }
    console.log(
      Object.entries(table)
        .map(
          ([name, bySize]) =>
            `${name}: ${SIZES.map((n) => {
              const c = bySize[n] as RoundTrips;
              return `${n} → pg ${c.pg} (${c.statements} statements, ${c.pgWrites} writes), redis ${c.redis} (${c.redisCommands} commands)`;
            }).join("; ")}`,
        )
        .join("\n"),
    );
    for (const step of steps) {
      const bySize = table[step.name] as Record<number, RoundTrips>;
      for (const n of SIZES) {
        expect({ step: step.name, n, pg: (bySize[n] as RoundTrips).pg }).toEqual({
          step: step.name,
          n,
          pg: step.pg,
        });
        // the statements of a round trip go out in one write (store/pipeline.ts corks the socket)
        expect({ step: step.name, n, writes: (bySize[n] as RoundTrips).pgWrites }).toEqual({
          step: step.name,
          n,
          writes: step.pg,
        });
        expect({ step: step.name, n, redis: (bySize[n] as RoundTrips).redis }).toEqual({
          step: step.name,
          n,
          redis: 1,
        });
      }
    }
  });

  it("makes the partitions of a batch spanning many days in one round trip", async () => {
    const days = Array.from({ length: 6 }, (_, d) => noonDaysAgo(20 + d));
    const counter = countRoundTrips(pool, redis);
    try {
      expect(await new PartitionCache("day").ensure(pool, [...days, ...days.map((t) => t + 1000)])).toBe(1);
      expect(counter.counts.pg).toBe(1);
    } finally {
      counter.restore();
    }
    const made = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM unnest($1::timestamptz[]) AS d(t)
       WHERE EXISTS (SELECT 1 FROM location_partitions p WHERE p.lo <= d.t AND d.t < p.hi)`,
      [days.map((t) => new Date(t))],
    );
    expect(made.rows[0]?.n).toBe(6);
  });

  it("reports a pipelined transaction's first failure, not the aborted statements after it", async () => {
    const client = await pool.connect();
    try {
      const err = await pipelined(client, async () => {
        await send(client, "BEGIN");
        // sent and not awaited: out of range for a real (SQLSTATE 22003)
        await send(client, { text: "SELECT $1::real", values: [1e39] });
        // fails too, with "current transaction is aborted" (25P02)
        await client.query("SELECT 1");
        await send(client, "COMMIT");
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "22003" });
      await client.query("ROLLBACK");
      // out of pipeline mode again, and usable
      expect((client as unknown as { pipeline: boolean }).pipeline).toBe(false);
      expect((await client.query<{ n: number }>("SELECT 2 AS n")).rows).toEqual([{ n: 2 }]);
    } finally {
      client.release();
    }
  });
});
