import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recomputeDerived } from "../../worker/derive/recompute.ts";
import { startWorker, type WorkerHarness } from "./harness.ts";
import { S, silentDrive, spans, T0 } from "./silent-drive.ts";

const run = promisify(execFile);

/**
 * Existing data derived by the old rules: a worker that never splits a trip on a silence
 * (TRIP_GAP_SECONDS of a day) stands in for the code before the gap rule. The recompute then
 * derives it again with the rule (600 s) and counts what it changed.
 */
describe("logitrack recompute", () => {
  let w: WorkerHarness;
  const rules = () => ({ ...w.config, TRIP_GAP_SECONDS: 600 });
  const trips = (v: string) => spans(w.pool, "trips", v);
  const movingS = async (v: string) =>
    (await w.pool.query("SELECT moving_s FROM daily_vehicle_stats WHERE vehicle_id = $1", [v])).rows[0]
      ?.moving_s;

  beforeAll(async () => {
    w = await startWorker({ TRIP_GAP_SECONDS: "86400" });
    for (const v of ["rc-1", "rc-2"]) await w.send(silentDrive(v));
    // an event of a geofence deleted before versions were kept: nothing can judge it again
    await w.pool.query(
      `INSERT INTO geofence_events (vehicle_id, geofence_id, geofence_name, kind, at, confirmed_at, location)
       VALUES ('rc-1', 424242, 'old depot', 'enter', $1, $1, ST_SetSRID(ST_MakePoint(55.1, 25.1), 4326))`,
      [new Date(T0 + 60 * S)],
    );
  });
  afterAll(() => w?.close());

  it("counts the rows it would change in a dry run, and changes nothing", async () => {
    expect(await trips("rc-1")).toEqual([[30, 3630]]);
    const report = await recomputeDerived(w.pool, rules(), { vehicleIds: ["rc-1"], dryRun: true });
    expect(report).toMatchObject({
      vehicles: 1,
      trips: { added: 1, removed: 0, updated: 1, unchanged: 0 },
      stops: { added: 0, removed: 0, updated: 0, unchanged: 0 },
      daily: { added: 0, removed: 0, updated: 1, unchanged: 0 },
      events: { added: 0, retracted: 0 },
      changed: 3,
      dryRun: true,
    });
    expect(await trips("rc-1")).toEqual([[30, 3630]]);
    expect(await movingS("rc-1")).toBe(3600);
  });

  it("derives trips and the daily rollup again with the gap rule, keeping events it cannot judge", async () => {
    const report = await recomputeDerived(w.pool, rules());
    expect(report).toMatchObject({ vehicles: 2, changed: 6 });
    for (const v of ["rc-1", "rc-2"]) {
      expect(await trips(v)).toEqual([
        [30, 600],
        [3000, 3630],
      ]);
      expect(await movingS(v)).toBe(1200);
    }
    const kept = await w.pool.query("SELECT geofence_name FROM geofence_events WHERE vehicle_id = 'rc-1'");
    expect(kept.rows).toEqual([{ geofence_name: "old depot" }]);
    // run again: nothing left to change
    expect((await recomputeDerived(w.pool, rules())).changed).toBe(0);
  });

  it("runs as an operator command and prints what it changed", async () => {
    await w.pool.query("UPDATE daily_vehicle_stats SET moving_s = 3600 WHERE vehicle_id = 'rc-2'");
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "scripts/cli.ts", "recompute", "--vehicle", "rc-2"],
      {
        env: {
          ...process.env,
          DATABASE_URL: w.config.DATABASE_URL,
          REDIS_URL: w.config.REDIS_URL,
          TRIP_GAP_SECONDS: "600",
        },
        encoding: "utf8",
      },
    );
    expect(stdout).toMatch(/^recomputed 1 vehicle\(s\) with TRIP_GAP_SECONDS=600$/m);
    expect(stdout).toMatch(/^daily_vehicle_stats\s+0\s+0\s+1\s+0$/m);
    expect(stdout).toMatch(/^1 row\(s\) changed$/m);
    expect(await movingS("rc-2")).toBe(1200);
  });
});
