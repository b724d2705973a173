import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Fix } from "../../core/fix.ts";
import { fix, metresPerDegreeLat, noonDaysAgo, startWorker, type WorkerHarness } from "./harness.ts";

const S = 1000;
// yesterday 12:00 UTC (16:00 in Dubai): the drive stays inside one fleet day
const T0 = noonDaysAgo(1);
const STEP_M = (85 / 3.6) * 30; // 85 km/h for 30 s
const STEP = STEP_M / metresPerDegreeLat(25.1);
const JUMP_M = 20_000; // where the truck reappears after its tracker was off
const JUMP = JUMP_M / metresPerDegreeLat(25.2);

/**
 * A truck at 85 km/h whose tracker is off for 40 minutes (seconds from T0, a fix every 30 s):
 *   0            ignition on, standing
 *   30 … 600     driving north, 85 km/h
 *   600 → 3000   silence (40 min); the truck drove on meanwhile and reappears 20 km farther
 *   3000 … 3600  driving north, 85 km/h
 *   3630         standing; 3660 ignition off
 * `speed: false` sends no speed at all (the worker derives it from distance and time).
 */
function silentDrive(vehicleId: string, withSpeed = true): Fix[] {
  const out: Fix[] = [];
  let lat = 25.1;
  const at = (s: number, speed: number, ignition: boolean) =>
    out.push(fix(vehicleId, T0 + s * S, lat, 55.1, { ...(withSpeed ? { speed } : {}), ignition }));
  at(0, 0, true);
  for (let s = 30; s <= 600; s += 30) {
    lat += STEP;
    at(s, 85, true);
  }
  lat += JUMP;
  at(3000, 85, true);
  for (let s = 3030; s <= 3600; s += 30) {
    lat += STEP;
    at(s, 85, true);
  }
  at(3630, 0, true);
  at(3660, 0, false);
  return out;
}

interface TripRow {
  started: number;
  ended: number;
  distance_m: number;
  avg_speed_kmh: number;
}

describe("a silence longer than TRIP_GAP_SECONDS", () => {
  let w: WorkerHarness;
  const trips = async (v: string) =>
    (
      await w.pool.query<TripRow>(
        `SELECT (extract(epoch FROM started_at) * 1000)::float8 AS started, (extract(epoch FROM ended_at) * 1000)::float8 AS ended,
                distance_m, avg_speed_kmh
         FROM trips WHERE vehicle_id = $1 ORDER BY started_at`,
        [v],
      )
    ).rows;
  const seconds = (rows: TripRow[]) => rows.map((t) => [(t.started - T0) / S, (t.ended - T0) / S]);
  const daily = async (v: string) =>
    (
      await w.pool.query<{
        moving_s: number;
        idle_s: number;
        distance_m: number;
        gap_s: number;
        gap_distance_m: number;
        avg_speed_kmh: number;
      }>(
        "SELECT moving_s, idle_s, distance_m, gap_s, gap_distance_m, avg_speed_kmh FROM daily_vehicle_stats WHERE vehicle_id = $1",
        [v],
      )
    ).rows;

  async function expectTwoTripsAndNoDrivingInTheSilence(v: string) {
    const t = await trips(v);
    // the first ends at the last fix before the silence, the second starts at the first after it
    expect(seconds(t)).toEqual([
      [30, 600],
      [3000, 3630],
    ]);
    expect(Math.abs((t[0]?.distance_m ?? 0) - 19 * STEP_M) / (19 * STEP_M)).toBeLessThan(0.01);
    expect(Math.abs((t[1]?.distance_m ?? 0) - 20 * STEP_M) / (20 * STEP_M)).toBeLessThan(0.01);
    expect(t[0]?.avg_speed_kmh).toBeCloseTo(85, 0);
    // nothing is known of where the truck stood between the two: no stop across the silence
    const stops = await w.pool.query("SELECT 1 FROM stops WHERE vehicle_id = $1", [v]);
    expect(stops.rowCount).toBe(0);

    const [day] = await daily(v);
    // 20 moving minutes around the silence (19 + 1 and 20 + 1 segments of 30 s), two of idling
    expect(day?.moving_s).toBe(1200);
    expect(day?.idle_s).toBe(60);
    expect(day?.gap_s).toBe(2400);
    expect(Math.abs((day?.distance_m ?? 0) - 40 * STEP_M) / (40 * STEP_M)).toBeLessThan(0.01);
    expect(Math.abs((day?.gap_distance_m ?? 0) - JUMP_M) / JUMP_M).toBeLessThan(0.01);
    expect(day?.avg_speed_kmh).toBeCloseTo(85, 6);
  }

  beforeAll(async () => {
    w = await startWorker({
      TRIP_GAP_SECONDS: "600",
      MOVING_SPEED_KMH: "5",
      STOP_MIN_SECONDS: "300",
      TRIP_MIN_DISTANCE_M: "100",
    });
  });
  afterAll(() => w?.close());

  it("splits the trip and leaves the silence out of moving time when the fixes arrive in order", async () => {
    const drive = silentDrive("gap-ordered");
    for (let i = 0; i < drive.length; i += 5) await w.send(drive.slice(i, i + 5));
    await expectTwoTripsAndNoDrivingInTheSilence("gap-ordered");
  });

  it("gives the same when every fix arrives on its own, newest first", async () => {
    for (const f of silentDrive("gap-reversed").reverse()) await w.send([f]);
    await expectTwoTripsAndNoDrivingInTheSilence("gap-reversed");
  });

  it("gives the same when the fixes before the silence arrive late, as one batch", async () => {
    const drive = silentDrive("gap-late");
    const cut = drive.findIndex((f) => f.recordedAt === T0 + 3000 * S);
    for (let i = cut; i < drive.length; i += 4) await w.send(drive.slice(i, i + 4));
    expect(seconds(await trips("gap-late"))).toEqual([[3000, 3630]]);
    await w.send(drive.slice(0, cut));
    await expectTwoTripsAndNoDrivingInTheSilence("gap-late");
  });

  it("never derives a speed across the silence when the device sends none", async () => {
    const drive = silentDrive("gap-nospeed", false);
    for (let i = 0; i < drive.length; i += 7) await w.send(drive.slice(i, i + 7));
    // the first fix after the silence has no known speed: the trip starts at the next one
    expect(seconds(await trips("gap-nospeed"))).toEqual([
      [30, 600],
      [3030, 3630],
    ]);
    const [day] = await daily("gap-nospeed");
    expect(day?.moving_s).toBe(1200);
    expect(day?.idle_s).toBe(60);
    expect(day?.gap_s).toBe(2400);
  });
});
