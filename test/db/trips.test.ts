import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Fix } from "../../core/fix.ts";
import { fix, HOUR, metresPerDegreeLat, startWorker, type WorkerHarness } from "./harness.ts";

const S = 1000;
const T0 = Date.now() - 5 * HOUR;
const STEP = 500 / metresPerDegreeLat(25.1); // 500 m north per 30 s: 60 km/h

/**
 * The scripted drive (seconds from T0, a fix every 30 s):
 *   0          ignition on, standing
 *   30 … 600   driving north at 60 km/h (500 m per fix)        trip 1 starts at 30
 *   630 … 1230 standing, ignition on (10 minutes)              trip 1 ends at 630; stop 630 → 1260
 *   1260 … 1830 driving north again                            trip 2 starts at 1260
 *   1860       standing; 1890 ignition off                     trip 2 ends at 1860
 */
function scriptedDrive(vehicleId: string): Fix[] {
  const out: Fix[] = [];
  let lat = 25.1;
  const at = (s: number, speed: number, ignition: boolean) =>
    out.push(fix(vehicleId, T0 + s * S, lat, 55.1, { speed, ignition }));
  at(0, 0, true);
  for (let s = 30; s <= 600; s += 30) {
    lat += STEP;
    at(s, 60, true);
  }
  for (let s = 630; s <= 1230; s += 30) at(s, 0, true);
  for (let s = 1260; s <= 1830; s += 30) {
    lat += STEP;
    at(s, 60, true);
  }
  at(1860, 0, true);
  at(1890, 0, false);
  return out;
}

interface TripRow {
  started: number;
  ended: number;
  distance_m: number;
  max_speed_kmh: number;
  avg_speed_kmh: number;
}

describe("trips and stops from ignition and speed", () => {
  let w: WorkerHarness;
  const trips = async (v: string) =>
    (
      await w.pool.query<TripRow>(
        `SELECT (extract(epoch FROM started_at) * 1000)::float8 AS started, (extract(epoch FROM ended_at) * 1000)::float8 AS ended,
                distance_m, max_speed_kmh, avg_speed_kmh
         FROM trips WHERE vehicle_id = $1 ORDER BY started_at`,
        [v],
      )
    ).rows;
  const stops = async (v: string) =>
    (
      await w.pool.query<{ started: number; ended: number; lat: number }>(
        `SELECT (extract(epoch FROM started_at) * 1000)::float8 AS started, (extract(epoch FROM ended_at) * 1000)::float8 AS ended,
                ST_Y(location) AS lat
         FROM stops WHERE vehicle_id = $1 ORDER BY started_at`,
        [v],
      )
    ).rows;

  async function expectTheScriptedResult(v: string) {
    const t = await trips(v);
    expect(t.map((x) => [(x.started - T0) / S, (x.ended - T0) / S])).toEqual([
      [30, 630],
      [1260, 1860],
    ]);
    for (const x of t) {
      // 19 segments of 500 m inside each trip
      expect(Math.abs(x.distance_m - 9500) / 9500).toBeLessThan(0.01);
      expect(x.max_speed_kmh).toBe(60);
      expect(x.avg_speed_kmh).toBeCloseTo(9.5 / (600 / 3600), 0);
    }
    const s = await stops(v);
    expect(s.map((x) => [(x.started - T0) / S, (x.ended - T0) / S])).toEqual([[630, 1260]]);
    expect(s[0]?.lat).toBeCloseTo(25.1 + 20 * STEP, 9);
    const state = await w.pool.query("SELECT moving FROM vehicle_state WHERE vehicle_id = $1", [v]);
    expect(state.rows[0]?.moving).toBe(false);
  }

  beforeAll(async () => {
    w = await startWorker({ MOVING_SPEED_KMH: "5", STOP_MIN_SECONDS: "300", TRIP_MIN_DISTANCE_M: "100" });
  });
  afterAll(() => w?.close());

  it("yields two trips and one stop with the right times when the fixes arrive in order", async () => {
    const drive = scriptedDrive("drive-ordered");
    for (let i = 0; i < drive.length; i += 5) await w.send(drive.slice(i, i + 5));
    await expectTheScriptedResult("drive-ordered");
  });

  it("yields the same when every fix arrives on its own, newest first", async () => {
    const drive = scriptedDrive("drive-reversed").reverse();
    for (const f of drive) await w.send([f]);
    await expectTheScriptedResult("drive-reversed");
  });

  it("yields the same when the first half arrives late, as one batch, after the second", async () => {
    const drive = scriptedDrive("drive-late");
    const cut = drive.findIndex((f) => f.recordedAt === T0 + 1260 * S);
    for (let i = cut; i < drive.length; i += 3) await w.send(drive.slice(i, i + 3));
    expect(await trips("drive-late")).toHaveLength(1);
    await w.send(drive.slice(0, cut));
    await expectTheScriptedResult("drive-late");
  });

  it("keeps a short halt inside the trip, and drops a trip shorter than TRIP_MIN_DISTANCE_M", async () => {
    const v = "halts";
    const fixes: Fix[] = [];
    let lat = 25.5;
    let s = 0;
    const at = (speed: number, ignition: boolean, move = 0) => {
      lat += move;
      fixes.push(fix(v, T0 + s * S, lat, 55.5, { speed, ignition }));
      s += 30;
    };
    at(0, true);
    for (let i = 0; i < 10; i++) at(60, true, STEP); // the trip starts at the first of these
    for (let i = 0; i < 4; i++) at(0, true); // 2 minutes at a light: below STOP_MIN_SECONDS
    for (let i = 0; i < 10; i++) at(60, true, STEP);
    at(0, false); // parked
    for (let i = 0; i < 20; i++) at(0, false);
    at(8, true, 10 / metresPerDegreeLat(25.5)); // 10 m creep in the car park: noise
    at(0, true);
    at(0, false);
    await w.send(fixes);
    const t = await trips(v);
    expect(t).toHaveLength(1);
    // 19 segments of 500 m from the first fix in motion, the halt's included
    expect(Math.abs((t[0]?.distance_m ?? 0) - 9500) / 9500).toBeLessThan(0.01);
    expect(await stops(v)).toEqual([]);
  });
});
