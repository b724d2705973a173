import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DAY, fix, HOUR, MINUTE, metresPerDegreeLat, startWorker, type WorkerHarness } from "./harness.ts";

interface DailyRow {
  day: string;
  fixes: number;
  distance_m: number;
  moving_s: number;
  idle_s: number;
  avg_speed_kmh: number | null;
  max_speed_kmh: number | null;
  first_fix_at: Date;
  last_fix_at: Date;
}

// Midnight in Dubai (UTC+4, no DST) of the fleet day `daysAgo` days before today.
function dubaiMidnight(daysAgo: number): number {
  const now = Date.now() + 4 * HOUR;
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - daysAgo * DAY - 4 * HOUR;
}
const dayName = (dubaiMidnightMs: number) => new Date(dubaiMidnightMs + 4 * HOUR).toISOString().slice(0, 10);

describe("daily fleet analytics (FLEET_TZ Asia/Dubai)", () => {
  let w: WorkerHarness;
  const rows = async (vehicleId: string) =>
    (
      await w.pool.query<DailyRow>(
        `SELECT to_char(day, 'YYYY-MM-DD') AS day, fixes, distance_m, moving_s, idle_s, avg_speed_kmh,
                max_speed_kmh, first_fix_at, last_fix_at
         FROM daily_vehicle_stats WHERE vehicle_id = $1 ORDER BY day`,
        [vehicleId],
      )
    ).rows;

  beforeAll(async () => {
    w = await startWorker({ FLEET_TZ: "Asia/Dubai", MOVING_SPEED_KMH: "5" });
  });
  afterAll(() => w?.close());

  it("gives three points 1 km apart along a meridian 2 km (within 1 %), with speeds and moving time", async () => {
    const noon = dubaiMidnight(1) + 12 * HOUR;
    const step = 1000 / metresPerDegreeLat(25.01);
    await w.send(
      [0, 1, 2].map((i) =>
        fix("meridian", noon + i * MINUTE, 25 + i * step, 55.3, { speed: 60, ignition: true }),
      ),
    );
    const [row] = await rows("meridian");
    expect(row?.day).toBe(dayName(dubaiMidnight(1)));
    expect(row?.fixes).toBe(3);
    expect(Math.abs((row?.distance_m ?? 0) - 2000) / 2000).toBeLessThan(0.01);
    expect(row?.moving_s).toBe(120);
    expect(row?.idle_s).toBe(0);
    expect(row?.avg_speed_kmh).toBeCloseTo(60, 6);
    expect(row?.max_speed_kmh).toBeCloseTo(60, 6);
    expect(row?.first_fix_at.getTime()).toBe(noon);
    expect(row?.last_fix_at.getTime()).toBe(noon + 2 * MINUTE);
  });

  it("counts idle time (ignition on, standing) apart from moving time and from ignition off", async () => {
    const t0 = dubaiMidnight(1) + 9 * HOUR;
    const track = [
      ...Array.from({ length: 11 }, (_, i) =>
        fix("idler", t0 + i * MINUTE, 25.1, 55.1, { speed: 0, ignition: true }),
      ),
      ...Array.from({ length: 5 }, (_, i) =>
        fix("idler", t0 + (11 + i) * MINUTE, 25.1 + (i + 1) * 0.005, 55.1, { speed: 40, ignition: true }),
      ),
      ...Array.from({ length: 5 }, (_, i) =>
        fix("idler", t0 + (16 + i) * MINUTE, 25.125, 55.1, { speed: 0, ignition: false }),
      ),
    ];
    await w.send(track);
    const [row] = await rows("idler");
    // 10 idle minutes, the minute from the last idle fix to the first moving one is idle too;
    // 5 moving minutes (40 km/h); ignition-off minutes count for neither
    expect(row?.idle_s).toBe(11 * 60);
    expect(row?.moving_s).toBe(5 * 60);
    expect(row?.avg_speed_kmh).toBeCloseTo(40, 6);
    expect(row?.max_speed_kmh).toBeCloseTo(40, 6);
    expect(row?.fixes).toBe(21);
  });

  it("derives speed from distance and time when the device sends none", async () => {
    const t0 = dubaiMidnight(1) + 15 * HOUR;
    const step = 1000 / metresPerDegreeLat(25.2);
    // 1 km a minute: 60 km/h
    await w.send(
      [0, 1, 2].map((i) => fix("nospeed", t0 + i * MINUTE, 25.2 + i * step, 55.2, { ignition: true })),
    );
    const [row] = await rows("nospeed");
    expect(row?.max_speed_kmh).toBeCloseTo(60, 0);
    expect(row?.moving_s).toBe(120);
  });

  it("puts a fix on the fleet day of FLEET_TZ: 19:59:59.999Z and 20:00Z fall on two Dubai days", async () => {
    const midnight = dubaiMidnight(1);
    await w.send([
      fix("boundary", midnight - 10 * MINUTE, 25.3, 55.3, { speed: 0, ignition: false }),
      fix("boundary", midnight - 1, 25.3, 55.3, { speed: 0, ignition: false }),
      fix("boundary", midnight, 25.3, 55.3, { speed: 0, ignition: false }),
      fix("boundary", midnight + 10 * MINUTE, 25.3, 55.3, { speed: 0, ignition: false }),
    ]);
    const r = await rows("boundary");
    expect(r.map((x) => [x.day, x.fixes])).toEqual([
      [dayName(midnight - DAY), 2],
      [dayName(midnight), 2],
    ]);
    expect(new Date(midnight).toISOString()).toMatch(/T20:00:00.000Z$/);
  });

  it("recomputes yesterday's row when a late fix for yesterday arrives after today's", async () => {
    const yesterday = dubaiMidnight(1) + 10 * HOUR;
    const today = dubaiMidnight(0) + 1 * HOUR;
    const step = 1000 / metresPerDegreeLat(25.4);
    await w.send(
      [0, 2].map((i) =>
        fix("late-day", yesterday + i * MINUTE, 25.4, 55.4 + 0, { speed: 30, ignition: true }),
      ),
    );
    await w.send([fix("late-day", today, 25.5, 55.5, { speed: 0, ignition: true })]);
    const before = await rows("late-day");
    expect(before.map((r) => r.fixes)).toEqual([2, 1]);
    expect(before[0]?.distance_m).toBe(0);

    // the device was 1 km north in between: yesterday now has a 2 km detour
    const result = await w.send([
      fix("late-day", yesterday + MINUTE, 25.4 + step, 55.4, { speed: 60, ignition: true }),
    ]);
    expect(result.inserted).toBe(1);
    const after = await rows("late-day");
    expect(after[0]?.fixes).toBe(3);
    expect(Math.abs((after[0]?.distance_m ?? 0) - 2000) / 2000).toBeLessThan(0.01);
    expect(after[0]?.max_speed_kmh).toBeCloseTo(60, 6);
    expect(after[1]).toEqual(before[1]);
  });

  it("builds the same row from many in-order batches as from one batch (append = recompute)", async () => {
    const t0 = dubaiMidnight(2) + 6 * HOUR;
    const track = (id: string) =>
      Array.from({ length: 60 }, (_, i) =>
        fix(id, t0 + i * 20_000, 25.6 + Math.sin(i / 7) * 0.01, 55.6 + i * 0.001, {
          speed: i % 9 === 0 ? 0 : 20 + (i % 50),
          ignition: i < 55,
        }),
      );
    const pieces = track("appended");
    for (let i = 0; i < pieces.length; i += 7) await w.send(pieces.slice(i, i + 7));
    await w.send(track("whole"));
    const [a] = await rows("appended");
    const [b] = await rows("whole");
    expect(a?.fixes).toBe(60);
    for (const k of ["fixes", "moving_s", "idle_s", "first_fix_at", "last_fix_at"] as const)
      expect(a?.[k]).toEqual(b?.[k]);
    for (const k of ["distance_m", "avg_speed_kmh", "max_speed_kmh"] as const)
      expect(a?.[k] as number).toBeCloseTo(b?.[k] as number, 6);
  });
});
