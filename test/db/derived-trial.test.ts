import { execFile } from "node:child_process";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Fix } from "../../core/fix.ts";
import { pipelineMetrics } from "../../core/metrics-catalogue.ts";
import { batchLogSummary } from "../../worker/batch-log-summary.ts";
import { recordDerivationSettings } from "../../worker/derive/derivation-settings.ts";
import { closeSilentTrips } from "../../worker/derive/silent-trips.ts";
import { processBatch } from "../../worker/process-batch.ts";
import { PartitionCache } from "../../worker/store/partitions.ts";
import { fix, metresPerDegreeLat, startWorker, type WorkerHarness } from "./harness.ts";
import { S, spans, T0 } from "./silent-drive.ts";

const run = promisify(execFile);
const GAP_S = 120;
const STEP = 500 / metresPerDegreeLat(25.1); // 500 m north per 30 s: 60 km/h
const JITTER = 4 / metresPerDegreeLat(25.1); // a few metres of GPS noise

/**
 * What a user trial with the simulator found wrong in the derived data, in event time (a day ago,
 * TRIP_GAP_SECONDS 120, MOVING_SPEED_KMH 5, STOP_MIN_SECONDS 300, TRIP_MIN_DISTANCE_M 100).
 */
describe("derived data after the simulator trial", () => {
  let w: WorkerHarness;
  const daily = async (v: string) =>
    (
      await w.pool.query<{ distance_m: number; moving_s: number }>(
        "SELECT distance_m, moving_s FROM daily_vehicle_stats WHERE vehicle_id = $1",
        [v],
      )
    ).rows[0];
  const trips = async (v: string) =>
    (
      await w.pool.query<{ s: number; e: number; distance_m: number }>(
        `SELECT (extract(epoch FROM started_at) * 1000 - $2) / 1000 AS s,
                (extract(epoch FROM ended_at) * 1000 - $2) / 1000 AS e, distance_m
         FROM trips WHERE vehicle_id = $1 ORDER BY started_at`,
        [v, T0],
      )
    ).rows.map((r) => ({ s: Number(r.s), e: Number(r.e), distance_m: r.distance_m }));

  /** ignition on at 0, driving north 30 … `until` s at 60 km/h (a fix every 30 s) */
  const drive = (v: string, until: number, lat0 = 25.1): Fix[] => {
    const out = [fix(v, T0, lat0, 55.1, { speed: 0, ignition: true })];
    for (let s = 30, lat = lat0; s <= until; s += 30) {
      lat += STEP;
      out.push(fix(v, T0 + s * S, lat, 55.1, { speed: 60, ignition: true }));
    }
    return out;
  };

  beforeAll(async () => {
    w = await startWorker({
      TRIP_GAP_SECONDS: String(GAP_S),
      MOVING_SPEED_KMH: "5",
      STOP_MIN_SECONDS: "300",
      TRIP_MIN_DISTANCE_M: "100",
    });
  });
  afterAll(() => w?.close());

  it("1: gives a parked truck's GPS jitter no distance, in the day and in a trip's halt", async () => {
    // 5 minutes parked, a fix every 5 s wandering a few metres: ignition off, speed 0
    const parked = Array.from({ length: 60 }, (_, i) =>
      fix("tr-parked", T0 + i * 5 * S, 25.2 + (i % 3) * JITTER, 55.2 + ((i * 7) % 5) * JITTER, {
        speed: 0,
        ignition: false,
      }),
    );
    await w.send(parked);
    expect((await daily("tr-parked"))?.distance_m).toBe(0);

    // a drive with a 2-minute halt at a light (ignition on, speed 0, jitter) inside the trip
    const v = "tr-halt";
    const fixes = drive(v, 300);
    let lat = 25.1 + 10 * STEP;
    for (let s = 305; s <= 420; s += 5)
      fixes.push(fix(v, T0 + s * S, lat + ((s / 5) % 2) * JITTER, 55.1, { speed: 0, ignition: true }));
    for (let s = 450; s <= 600; s += 30) {
      lat += STEP;
      fixes.push(fix(v, T0 + s * S, lat, 55.1, { speed: 60, ignition: true }));
    }
    fixes.push(fix(v, T0 + 630 * S, lat, 55.1, { speed: 0, ignition: false }));
    await w.send(fixes);
    const [trip] = await trips(v);
    // 9 + 6 steps of 500 m in the trip (the first one, into its first fix, is before it)
    expect(Math.abs((trip?.distance_m ?? 0) - 15 * 500)).toBeLessThan(50);
    expect(Math.abs(((await daily(v))?.distance_m ?? 0) - 16 * 500)).toBeLessThan(50);
  });

  it("2: writes the trip of a vehicle that falls silent, and continues it when a late upload fills the silence", async () => {
    const v = "tr-silent";
    const all = [
      ...drive(v, 600),
      fix(v, T0 + 630 * S, 25.1 + 20 * STEP, 55.1, { speed: 0, ignition: false }),
    ];
    const cut = all.findIndex((f) => f.recordedAt === T0 + 300 * S) + 1;
    await w.send(all.slice(0, cut));
    expect(await trips(v)).toEqual([]);
    const rules = { tripMinDistanceM: 100, gapMs: GAP_S * 1000 };
    // not yet silent for TRIP_GAP_SECONDS: nothing
    expect((await closeSilentTrips(w.pool, rules, T0 + (300 + GAP_S) * S)).vehicles).toBe(0);
    expect(await closeSilentTrips(w.pool, rules, T0 + (301 + GAP_S) * S)).toMatchObject({
      vehicles: 1,
      trips: 1,
    });
    const swept = await trips(v);
    expect(swept.map((t) => [t.s, t.e])).toEqual([[30, 300]]);
    // the trip and the day agree: the day has the one step into the trip's first fix more
    expect(Math.abs((swept[0]?.distance_m ?? 0) - 9 * 500)).toBeLessThan(50);
    expect(Math.abs(((await daily(v))?.distance_m ?? 0) - 10 * 500)).toBeLessThan(50);
    // swept once
    expect((await closeSilentTrips(w.pool, rules, T0 + 3600 * S)).vehicles).toBe(0);

    // the buffered fixes arrive (in order): the trip goes on, the swept row goes
    await w.send(all.slice(cut, cut + 5));
    expect(await trips(v)).toEqual([]);
    await w.send(all.slice(cut + 5));
    const final = await trips(v);
    expect(final.map((t) => [t.s, t.e])).toEqual([[30, 630]]);
    expect(Math.abs((final[0]?.distance_m ?? 0) - 19 * 500)).toBeLessThan(50);
  });

  it("3: records late fixes against what arrived before them only, and counts them apart from the bridge's live-state refusals", async () => {
    const v = "tr-late";
    const late = async () =>
      (
        await w.pool.query<{ t: number; detail: string }>(
          `SELECT (extract(epoch FROM recorded_at) * 1000 - $2) / 1000 AS t, detail
           FROM location_anomalies WHERE vehicle_id = $1 AND kind = 'late' ORDER BY id`,
          [v, T0],
        )
      ).rows;
    await w.send([fix(v, T0, 25.3, 55.3)]);
    // an in-order store-and-forward upload, and a later live fix
    await w.send([1, 2, 3, 4].map((i) => fix(v, T0 + i * 10 * S, 25.3, 55.3)));
    await w.send([fix(v, T0 + 100 * S, 25.3, 55.3)]);
    expect(await late()).toEqual([]);
    // the live fix when coverage returns, then the backlog of the gap: late against that live fix
    await w.send([
      fix(v, T0 + 200 * S, 25.3, 55.3),
      ...[1, 2, 3].map((i) => fix(v, T0 + (100 + i * 20) * S, 25.3, 55.3)),
    ]);
    expect((await late()).map((a) => Number(a.t))).toEqual([120, 140, 160]);
    expect((await late())[0]?.detail).toBe(
      `80 s older than the newest fix received before it (${new Date(T0 + 200 * S).toISOString()})`,
    );
    expect(Object.keys(pipelineMetrics)).toContain("bridge_live_stale");
    expect(Object.keys(pipelineMetrics)).not.toContain("bridge_fixes_late");
  });

  it("4: recompute refuses rules other than the workers' recorded ones unless --use-current-env", async () => {
    await recordDerivationSettings(w.pool, w.config, "test-worker");
    const cli = (env: Record<string, string>, ...args: string[]) =>
      run(
        process.execPath,
        ["--import", "tsx", "scripts/cli.ts", "recompute", "--vehicle", "tr-halt", ...args],
        {
          env: { ...process.env, DATABASE_URL: w.config.DATABASE_URL, REDIS_URL: w.config.REDIS_URL, ...env },
          encoding: "utf8",
        },
      );
    const rules = { MOVING_SPEED_KMH: "5", STOP_MIN_SECONDS: "300", TRIP_MIN_DISTANCE_M: "100" };
    const before = await trips("tr-halt");
    const refused = await cli({ ...rules, TRIP_GAP_SECONDS: "600" }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(refused).toMatchObject({ code: 2 });
    const stderr = (refused as { stderr: string }).stderr;
    expect(stderr).toMatch(/refused.*TRIP_GAP_SECONDS/);
    expect(stderr).toMatch(/workers \(recorded .* by test-worker\): .*TRIP_GAP_SECONDS=120/);
    expect(stderr).toMatch(/this environment: .*TRIP_GAP_SECONDS=600/);
    expect(await trips("tr-halt")).toEqual(before);

    const same = await cli({ ...rules, TRIP_GAP_SECONDS: String(GAP_S) });
    expect(same.stdout).toMatch(/^0 row\(s\) changed$/m);
    const forced = await cli({ ...rules, TRIP_GAP_SECONDS: "600" }, "--use-current-env", "--dry-run");
    expect(forced.stdout).toMatch(/^recomputed 1 vehicle\(s\) with TRIP_GAP_SECONDS=600$/m);
  });

  it("5: logs each batch at debug, and a periodic summary at info", async () => {
    const lines: { level: number; msg: string; batches?: number; inserted?: number }[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    const log = pino({ level: "info" }, sink);
    const deps = {
      config: w.config,
      pool: w.pool,
      redis: w.redis,
      log,
      partitions: new PartitionCache(w.config.PARTITION_INTERVAL),
    };
    const result = await processBatch(deps, "log-1", {
      fixes: [fix("tr-log", T0, 25.4, 55.4)],
      rejects: [],
      sealedAt: Date.now(),
    });
    const summary = batchLogSummary(log, 3_600_000);
    summary.add(result);
    summary.stop();
    expect(lines.filter((l) => l.msg === "batch committed")).toEqual([]);
    expect(lines.filter((l) => l.msg === "batches committed")).toEqual([
      expect.objectContaining({ level: 30, batches: 1, inserted: 1 }),
    ]);
  });

  it("6: drops a zero-length stop (ignition off, silence, the truck elsewhere)", async () => {
    const v = "tr-zero";
    const fixes = drive(v, 300);
    fixes.push(fix(v, T0 + 330 * S, 25.1 + 10 * STEP, 55.1, { speed: 0, ignition: false }));
    // silent for an hour; it reappears 5 km away, parked, then drives off
    const far = 25.1 + 10 * STEP + 5000 / metresPerDegreeLat(25.1);
    fixes.push(fix(v, T0 + 3930 * S, far, 55.1, { speed: 0, ignition: false }));
    for (let s = 3960, lat = far; s <= 4200; s += 30) {
      lat += STEP;
      fixes.push(fix(v, T0 + s * S, lat, 55.1, { speed: 60, ignition: true }));
    }
    fixes.push(fix(v, T0 + 4230 * S, far + 9 * STEP, 55.1, { speed: 0, ignition: false }));
    await w.send(fixes);
    expect((await trips(v)).map((t) => [t.s, t.e])).toEqual([
      [30, 330],
      [3960, 4230],
    ]);
    // the stop from 330 to 330 (the last fix before the silence) says nothing: only the one after it
    expect(await spans(w.pool, "stops", v)).toEqual([[3930, 3960]]);
  });
});
