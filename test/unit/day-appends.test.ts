import { describe, expect, it } from "vitest";
import { DayAppends, type DayFix } from "../../worker/derive/day-appends.ts";

const rules = { movingSpeedKmh: 5, gapSeconds: 600 };

/** A track of `n` fixes 30 s apart from t0, 250 m apart (30 km/h), on day 20,000 then 20,001. */
function track(n: number, t0: number, midnightAfter = Infinity): DayFix[] {
  return Array.from({ length: n }, (_, i) => ({
    t: t0 + i * 30_000,
    day: i < midnightAfter ? 20_000 : 20_001,
    speed: i % 4 === 0 ? null : 20 + i,
    ignition: i % 7 !== 6,
    d: i === 0 ? null : 250,
  }));
}

describe("the worker's daily rollup appends (day-appends.ts)", () => {
  it("gives the same rows for a window read in pages (each page re-reading the last fix) as for one page", () => {
    const fixes = track(20, 1_000_000, 12);
    const whole = new DayAppends(rules);
    whole.add("v", fixes, fixes[0]?.t);
    const paged = new DayAppends(rules);
    paged.add("v", fixes.slice(0, 5), fixes[0]?.t);
    for (let i = 4; i < fixes.length; i += 4) paged.add("v", fixes.slice(i, i + 5));
    expect(paged.finish()).toEqual(whole.finish());
  });

  it("anchors the first day on the window's first fix, and counts only the fixes after it", () => {
    const fixes = track(5, 1_000_000);
    const [row, ...more] = (() => {
      const a = new DayAppends(rules);
      a.add("v", fixes, 1_000_000);
      return a.finish();
    })();
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      day: 20_000,
      anchor: 1_000_000,
      firstNew: 1_030_000,
      lastFixAt: 1_120_000,
      fixes: 4,
    });
    // four segments of 250 m; the anchor's speed (none reported) is the segment's: 30 km/h
    expect(row?.distanceM).toBe(1000);
    expect(row?.maxSpeedKmh).toBeCloseTo(30, 9);
  });

  it("starts a day after midnight without an anchor, and leaves the segment across midnight to neither day", () => {
    const fixes = track(6, 1_000_000, 3);
    const a = new DayAppends(rules);
    a.add("v", fixes, 1_000_000);
    const rows = a.finish();
    expect(rows.map((r) => [r.day, r.anchor, r.fixes])).toEqual([
      [20_000, 1_000_000, 2],
      [20_001, null, 3],
    ]);
    expect(rows.map((r) => r.distanceM)).toEqual([500, 500]);
  });

  it("has no anchor when the saved state's last fix is gone from the window", () => {
    const fixes = track(3, 1_000_000);
    const a = new DayAppends(rules);
    a.add("v", fixes, 999_000);
    expect(a.finish()).toMatchObject([{ anchor: null, firstNew: 1_000_000, fixes: 3 }]);
  });

  it("keeps a silence out of distance, moving and idle time, as gap time and distance", () => {
    const fixes: DayFix[] = [
      { t: 0, day: 1, speed: 40, ignition: true, d: null },
      { t: 601_000, day: 1, speed: 40, ignition: true, d: 5000 },
    ];
    const a = new DayAppends(rules);
    a.add("v", fixes, 0);
    expect(a.finish()).toMatchObject([
      { distanceM: 0, movingS: 0, idleS: 0, gapS: 601, gapDistanceM: 5000, maxSpeedKmh: 40 },
    ]);
  });

  it("gives no rows for a vehicle whose fleet day went backwards (two rows of one day), and keeps the others'", () => {
    const a = new DayAppends(rules);
    const back = track(6, 1_000_000).map((f, i) => ({ ...f, day: i === 2 || i === 3 ? 20_001 : 20_000 }));
    a.add("back", back, 1_000_000);
    a.add("fine", track(3, 1_000_000), 1_000_000);
    expect(a.finish().map((r) => r.vehicleId)).toEqual(["fine"]);
  });

  it("refuses a fix without its fleet day rather than put it on the wrong day", () => {
    const a = new DayAppends(rules);
    expect(() => a.add("v", [{ t: 0, speed: 1, ignition: true, d: null } as unknown as DayFix])).toThrow(
      /fleet day/,
    );
  });
});
