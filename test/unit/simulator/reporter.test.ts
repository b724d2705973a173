import { describe, expect, it } from "vitest";
import { nativeFixSchema } from "../../../core/fix.ts";
import type { SimFix } from "../../../simulator/payloads.ts";
import { createRandom } from "../../../simulator/random.ts";
import { type OutgoingMessage, Reporter, type ReporterOptions } from "../../../simulator/reporter.ts";
import type { TruckReading } from "../../../simulator/truck.ts";

const T0 = Date.UTC(2025, 0, 1, 8, 0, 0);

function reading(i: number, over: Partial<TruckReading> = {}): TruckReading {
  return {
    lat: 25.1 + i * 0.0001,
    lng: 55.2 + i * 0.0001,
    speed: 72.5,
    heading: 41.3,
    altitude: 12.4,
    accuracy: 4.2,
    ignition: true,
    odometer: 120_000.5 + i * 0.1,
    state: "driving",
    road: "Sheikh Zayed Road",
    ...over,
  };
}

const fix = (i: number, over: Partial<TruckReading> = {}): SimFix => ({
  vehicleId: "truck-0001",
  recordedAt: T0 + i * 5000,
  messageId: `truck-0001-${i}`,
  reading: reading(i, over),
});

function run(opts: Partial<ReporterOptions>, n: number): OutgoingMessage[][] {
  const reporter = new Reporter({
    vehicleId: "truck-0001",
    format: "native",
    random: createRandom("reporter"),
    intervalMs: 5000,
    ...opts,
  });
  return Array.from({ length: n }, (_, i) => reporter.report(fix(i)));
}

describe("coverage gaps (store and forward)", () => {
  // a gap begins at the first moving fix (mean 1 ms between gaps) and lasts exactly 30 s = 6 fixes
  const ticks = run({ gaps: { meanEveryS: 0.001, minS: 30, maxS: 30 } }, 8);

  it("sends nothing while the truck is in the gap", () => {
    expect(ticks.slice(0, 6).every((t) => t.length === 0)).toBe(true);
  });

  it("sends the live fix first, then every buffered fix as ONE /locations array, oldest first", () => {
    const after = ticks[6] as OutgoingMessage[];
    expect(after.map((m) => [m.topic, m.kind])).toEqual([
      ["fleet/truck-0001/location", "live"],
      ["fleet/truck-0001/locations", "backlog"],
    ]);
    const live = JSON.parse(after[0]?.payload as string);
    const batch = JSON.parse(after[1]?.payload as string) as { recordedAt: number; messageId: string }[];
    expect(batch.map((f) => f.messageId)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `truck-0001-${i}`));
    // late and out of order: the batch is older than the live fix that arrived before it
    expect(Math.max(...batch.map((f) => f.recordedAt))).toBeLessThan(live.recordedAt);
    for (const f of [live, ...batch]) expect(nativeFixSchema.safeParse(f).success).toBe(true);
  });

  it("flushes what a gap still holds when the run ends", () => {
    const reporter = new Reporter({
      vehicleId: "truck-0001",
      format: "native",
      random: createRandom("r"),
      intervalMs: 1000,
      gaps: { meanEveryS: 0.001, minS: 60, maxS: 60 },
    });
    for (let i = 0; i < 4; i++) expect(reporter.report(fix(i))).toEqual([]);
    expect(reporter.buffered).toBe(4);
    const out = reporter.flush();
    expect(out).toHaveLength(1);
    expect(out[0]?.fixes.map((f) => f.messageId)).toEqual([0, 1, 2, 3].map((i) => `truck-0001-${i}`));
    expect(reporter.buffered).toBe(0);
  });

  it("does not start a gap while parked", () => {
    const reporter = new Reporter({
      vehicleId: "truck-0001",
      format: "native",
      random: createRandom("r"),
      intervalMs: 5000,
      gaps: { meanEveryS: 0.001, minS: 30, maxS: 30 },
    });
    const parked = reporter.report(fix(0, { speed: 0, ignition: false, state: "parked" }));
    expect(parked.map((m) => m.kind)).toEqual(["live"]);
  });
});

describe("duplicates", () => {
  it("repeats a live message byte for byte", () => {
    const ticks = run({ duplicateChance: 1 }, 3);
    for (const t of ticks) {
      expect(t.map((m) => m.kind)).toEqual(["live", "duplicate"]);
      expect(t[1]?.payload).toBe(t[0]?.payload);
    }
  });
  it("never repeats without --duplicates", () => {
    expect(
      run({}, 50)
        .flat()
        .every((m) => m.kind === "live"),
    ).toBe(true);
  });
});

describe("OwnTracks trucks", () => {
  it("publish OwnTracks location JSON on owntracks/{id}/{device}", () => {
    const [m] = run({ format: "owntracks", ownTracksDevice: "phone" }, 1)[0] as OutgoingMessage[];
    expect(m?.topic).toBe("owntracks/truck-0001/phone");
    const body = JSON.parse(m?.payload as string);
    expect(body).toMatchObject({ _type: "location", lat: 25.1, lon: 55.2, tst: T0 / 1000, vel: 73, cog: 41 });
    expect(body.tid).toBe("01");
    expect(body.acc).toBe(4);
    expect(body.batt).toBeGreaterThan(0);
  });

  it("leave out fields that are zero, like the app", () => {
    const reporter = new Reporter({
      vehicleId: "truck-0001",
      format: "owntracks",
      random: createRandom("o"),
      intervalMs: 5000,
    });
    const [m] = reporter.report(fix(0, { speed: 0, heading: 0, ignition: false }));
    const body = JSON.parse(m?.payload as string);
    expect(body).not.toHaveProperty("vel");
    expect(body).not.toHaveProperty("cog");
    expect(body).toHaveProperty("alt");
  });

  it("replay a gap's backlog one message per fix (OwnTracks has no batch message)", () => {
    const ticks = run({ format: "owntracks", gaps: { meanEveryS: 0.001, minS: 15, maxS: 15 } }, 4);
    expect(ticks.slice(0, 3).every((t) => t.length === 0)).toBe(true);
    expect(ticks[3]?.map((m) => m.kind)).toEqual(["live", "backlog", "backlog", "backlog"]);
  });
});
