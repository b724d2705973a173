import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TRACK_SQL } from "../../api/track-query.ts";
import { readTrackWindows, TRACK_WINDOWS } from "../../worker/derive/track-reads.ts";
import { DAY, HOUR, startWorker, type WorkerHarness } from "./harness.ts";

interface PlanNode {
  "Node Type": string;
  "Actual Loops"?: number;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Subplans Removed"?: number;
  Plans?: PlanNode[];
}

type Explain = { "QUERY PLAN": { Plan: PlanNode }[] };

/** Every node of an EXPLAIN (FORMAT JSON) answer. */
function planNodes(explain: { rows: Explain[] }): PlanNode[] {
  const plan = explain.rows[0]?.["QUERY PLAN"][0]?.Plan;
  if (!plan) throw new Error("no plan");
  return nodes(plan);
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

const VEHICLES = 40;
const STEP_S = 120;

/**
 * `days` days from `start` of a fix every STEP_S seconds for VEHICLES vehicles `prefix`1…, stored
 * time-major as ingest writes them (every vehicle's fix of a step, then the next step's), in daily
 * partitions made for `partitions` days; then ANALYZE.
 */
async function storeTimeMajor(
  w: WorkerHarness,
  prefix: string,
  start: number,
  days: number,
  partitions: number,
) {
  for (let d = 0; d < partitions; d++)
    await w.pool.query("SELECT ensure_location_partition($1, 'day')", [new Date(start + d * DAY)]);
  await w.pool.query(
    `INSERT INTO vehicle_locations (vehicle_id, recorded_at, location, speed, received_at)
     SELECT $4 || v, $1::timestamptz + g * $2 * interval '1 second',
            ST_SetSRID(ST_MakePoint(55 + v * 0.01, 25 + g * 0.00001), 4326), 40, now()
     FROM generate_series(0, $5 * 86400 / $2 - 1) g, generate_series(1, $3) v
     ORDER BY g, v`,
    [new Date(start), STEP_S, VEHICLES, prefix, days],
  );
  await w.pool.query("ANALYZE vehicle_locations");
}

describe("the one-vehicle one-day track query (api/track-query.ts)", () => {
  let w: WorkerHarness;
  // four UTC-day partitions; the Dubai day in the middle straddles two of them
  const start = Date.UTC(2026, 2, 10);
  const dubaiDay = { from: new Date(start + DAY - 4 * HOUR), to: new Date(start + 2 * DAY - 4 * HOUR) };

  beforeAll(async () => {
    w = await startWorker();
    await storeTimeMajor(w, "plan-", start, 4, 4);
  });
  afterAll(() => w?.close());

  it("prunes to the two partitions of the fleet day and reads them through the primary key index", async () => {
    const explain = await w.pool.query<Explain>(`EXPLAIN (FORMAT JSON) ${TRACK_SQL}`, [
      "plan-7",
      dubaiDay.from,
      dubaiDay.to,
      100_000,
    ]);
    const all = planNodes(explain);
    const scans = all.filter((n) => n["Relation Name"] !== undefined);
    expect(scans.map((n) => n["Relation Name"]).sort()).toEqual([
      "vehicle_locations_p20260310",
      "vehicle_locations_p20260311",
    ]);
    expect(all.some((n) => n["Node Type"] === "Seq Scan")).toBe(false);
    for (const scan of scans) {
      // an index scan names its index; a bitmap heap scan's index is in its Bitmap Index Scan child
      const index = nodes(scan).find((n) => n["Index Name"] !== undefined)?.["Index Name"];
      expect(["Index Scan", "Index Only Scan", "Bitmap Heap Scan"]).toContain(scan["Node Type"]);
      expect(index).toMatch(/_pkey$/);
    }
    const rows = await w.pool.query(TRACK_SQL, ["plan-7", dubaiDay.from, dubaiDay.to, 100_000]);
    expect(rows.rowCount).toBe(86400 / STEP_S);
  });

  it("prunes at executor start when the times are parameters of a generic plan", async () => {
    const c = await w.pool.connect();
    try {
      await c.query("SET plan_cache_mode = force_generic_plan");
      await c.query(`PREPARE track(text, timestamptz, timestamptz, int) AS ${TRACK_SQL}`);
      const explain = await c.query<Explain>(
        `EXPLAIN (ANALYZE, FORMAT JSON, TIMING OFF, SUMMARY OFF)
         EXECUTE track('plan-7', '${dubaiDay.from.toISOString()}', '${dubaiDay.to.toISOString()}', 100000)`,
      );
      const all = planNodes(explain);
      expect(all.reduce((n, x) => n + (x["Subplans Removed"] ?? 0), 0)).toBe(2);
      expect(all.some((n) => n["Node Type"] === "Seq Scan")).toBe(false);
    } finally {
      await c.query("DEALLOCATE ALL").catch(() => {});
      await c.query("RESET plan_cache_mode");
      c.release();
    }
  });
});

describe("the worker's track windows (worker/derive/track-reads.ts) and the partitions made ahead", () => {
  let w: WorkerHarness;
  const start = Date.UTC(2026, 4, 10);
  const AHEAD = 8;

  beforeAll(async () => {
    w = await startWorker();
    // two days of fixes, then empty partitions made ahead (PARTITIONS_AHEAD)
    await storeTimeMajor(w, "win-", start, 2, 2 + AHEAD);
  });
  afterAll(() => w?.close());

  const last = start + 2 * DAY - STEP_S * 1000;
  const ids = ["win-3", "win-9"];

  it("reads, per vehicle, no partition after its newest fix (a generic plan, as the worker's named statement)", async () => {
    const c = await w.pool.connect();
    try {
      await c.query("SET plan_cache_mode = force_generic_plan");
      await c.query(`PREPARE windows(text[], bigint[], int, boolean, text, bigint[]) AS ${TRACK_WINDOWS}`);
      const explain = await c.query<Explain>(
        `EXPLAIN (ANALYZE, FORMAT JSON, TIMING OFF, SUMMARY OFF)
         EXECUTE windows('{${ids.join(",")}}', '{${ids.map(() => last - 3_600_000).join(",")}}', 1000, false, 'UTC',
                         '{${ids.map(() => last).join(",")}}')`,
      );
      const scans = planNodes(explain).filter((n) => n["Relation Name"]?.startsWith("vehicle_locations_p"));
      const read = scans.filter((n) => (n["Actual Loops"] ?? 0) > 0).map((n) => n["Relation Name"]);
      // the second day's partition only: neither the day before `since` nor the eight made ahead
      expect([...new Set(read)]).toEqual(["vehicle_locations_p20260511"]);
      expect(scans.length).toBeGreaterThanOrEqual(2 + AHEAD);
    } finally {
      await c.query("DEALLOCATE ALL").catch(() => {});
      await c.query("RESET plan_cache_mode");
      c.release();
    }
  });

  it("reads the same fixes with the bound as without it, and none after it", async () => {
    const c = await w.pool.connect();
    try {
      const since = last - 3_600_000;
      const bounded = await readTrackWindows(
        c,
        ids.map((vehicleId) => ({ vehicleId, since, until: last })),
        1000,
        false,
        "UTC",
      );
      const open = await readTrackWindows(
        c,
        ids.map((vehicleId) => ({ vehicleId, since })),
        1000,
        false,
        "UTC",
      );
      expect(bounded).toEqual(open);
      expect(bounded.get("win-3")?.length).toBe(3_600_000 / (STEP_S * 1000) + 1);
      const earlier = await readTrackWindows(
        c,
        [{ vehicleId: "win-3", since, until: last - 600_000 }],
        1000,
        false,
        "UTC",
      );
      expect(
        earlier
          .get("win-3")
          ?.map((f) => f.t)
          .at(-1),
      ).toBe(last - 600_000);
    } finally {
      c.release();
    }
  });
});
