import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type WorkerHarness } from "./harness.ts";
import { JUMP_M, movedWhileSilent, S, STEP_M, silentDrive, spans, T0 } from "./silent-drive.ts";

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

  it("ends a stop where the truck was last seen when it reappears elsewhere after a silence", async () => {
    const drive = movedWhileSilent("gap-moved");
    for (let i = 0; i < drive.length; i += 6) await w.send(drive.slice(i, i + 6));
    for (const f of movedWhileSilent("gap-moved-reversed").reverse()) await w.send([f]);
    for (const v of ["gap-moved", "gap-moved-reversed"]) {
      expect(seconds(await trips(v))).toEqual([
        [30, 330],
        [3330, 3630],
      ]);
      expect(await spans(w.pool, "stops", v)).toEqual([
        [330, 600],
        [3000, 3330],
      ]);
    }
  });
});
