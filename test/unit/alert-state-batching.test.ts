import { describe, expect, it } from "vitest";
import { rulesOf, type Version } from "../../worker/derive/alert-rules.ts";
import {
  initialState,
  type MachineRules,
  type MachineState,
  runMachine,
  type TrackFix,
} from "../../worker/derive/vehicle-machine.ts";

const forever = {
  from: 0,
  to: Number.POSITIVE_INFINITY,
  quietHours: null,
  scope: { kind: "fleet" },
} as const;
const speeding = (ruleId: number, limitKmh: number, minSeconds: number): Version => ({
  ...forever,
  ruleId,
  name: `over ${limitKmh}`,
  kind: "speeding",
  params: { limitKmh, minSeconds },
});
const altitude = (ruleId: number, above: number, minSeconds: number): Version => ({
  ...forever,
  ruleId,
  name: `above ${above} m`,
  kind: "threshold",
  params: { attribute: "altitude", above, minSeconds },
});

/** A seeded track: speeds and altitudes that wander across the rules' limits, a silence now and then. */
function track(seed: number, n: number): TrackFix[] {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  let t = 1_700_000_000_000;
  let speed = 60;
  return Array.from({ length: n }, () => {
    t += rnd() < 0.03 ? 900_000 : 1000 * Math.ceil(rnd() * 20);
    speed = Math.max(0, Math.min(130, speed + (rnd() - 0.5) * 40));
    return {
      t,
      lat: 25 + rnd() * 0.01,
      lng: 55 + rnd() * 0.01,
      // whole km/h and tenths of a metre: a pending run's peak is packed to one decimal, so these
      // come back as they were and the states can be compared exactly
      speed: Math.round(speed),
      ignition: true,
      d: 100,
      fences: [],
      insideAtChange: [],
      altitude: Math.round(rnd() * 400) / 10,
    };
  });
}

describe("the alert runs in the machine's state, whatever the batching", () => {
  // rule ids out of the order their runs start in: the stored runs must not keep arrival order
  const versions = [speeding(2, 100, 60), altitude(3, 10, 30), speeding(5, 60, 60), speeding(7, 80, 0)];
  const rules: MachineRules = {
    movingSpeedKmh: 5,
    stopMinMs: 300_000,
    tripMinDistanceM: 100,
    gapMs: 600_000,
    checkpointEveryMs: 3_600_000,
    fenceAt: () => undefined,
    alerts: { rules: rulesOf(versions, "v1", undefined), fleetTz: "UTC" },
  };

  it("stores the same state and episodes for one batch as for any split, through jsonb between batches", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const fixes = track(seed, 300);
      const whole = initialState();
      const wholeOut = runMachine(whole, fixes, rules);
      let s = seed;
      let state: MachineState = initialState();
      const ended: unknown[] = [];
      for (let i = 0; i < fixes.length; ) {
        s = (s * 48271) % 2147483647;
        const size = 1 + (s % 7);
        const out = runMachine(state, fixes.slice(i, i + size), rules);
        // episodes that ended in this batch (the open ones are announced again by later batches)
        ended.push(...out.alerts.filter((a) => a.endedAt !== null));
        state = JSON.parse(JSON.stringify(state));
        i += size;
        // after every batch: the state one batch of the same fixes would have stored
        const prefix = initialState();
        runMachine(prefix, fixes.slice(0, i), rules);
        expect(state).toEqual(JSON.parse(JSON.stringify(prefix)));
      }
      expect(JSON.parse(JSON.stringify(whole))).toEqual(state);
      expect(ended).toEqual(wholeOut.alerts.filter((a) => a.endedAt !== null));
      expect(ended.length).toBeGreaterThan(0);
    }
  });

  it("ends, at a batch's first fix, the episode of a rule the vehicle no longer has; later fixes start nothing of it", () => {
    const state = initialState();
    const at = (t: number, speed: number) => ({ ...track(1, 1)[0], t, speed }) as TrackFix;
    const before = {
      ...rules,
      alerts: { rules: rulesOf([speeding(7, 80, 0)], "v1", undefined), fleetTz: "UTC" },
    };
    const first = runMachine(state, [at(1_000, 90), at(2_000, 95)], before);
    expect(first.alerts).toMatchObject([{ ruleId: 7, endedAt: null, peak: 95 }]);
    // rule 7 gone (deleted, or the vehicle left its scope), rule 5 new: the stored run is ended
    // at the first fix judged without it, even though every later fix of the batch walks only 5
    const after = {
      ...rules,
      alerts: { rules: rulesOf([speeding(5, 60, 0)], "v1", undefined), fleetTz: "UTC" },
    };
    const second = runMachine(JSON.parse(JSON.stringify(state)), [at(3_000, 99), at(4_000, 99)], after);
    expect(second.alerts.map((a) => [a.ruleId, a.endedAt])).toEqual([
      [7, 3_000],
      [5, null],
    ]);
  });

  it("judges a speeding rule whose limit was lowered by the version of each fix's time", () => {
    // limit 120 until t = 5,000, then 60: a fix at 90 km/h starts nothing before and an episode after
    const edited = [
      { ...speeding(9, 120, 0), to: 5_000 },
      { ...speeding(9, 60, 0), from: 5_000 },
    ];
    const withEdit = { ...rules, alerts: { rules: rulesOf(edited, "v1", undefined), fleetTz: "UTC" } };
    const at = (t: number) => ({ ...track(1, 1)[0], t, speed: 90 }) as TrackFix;
    const out = runMachine(initialState(), [at(4_000), at(6_000), at(7_000)], withEdit);
    expect(out.alerts).toMatchObject([{ ruleId: 9, start: { t: 6_000 }, endedAt: null, peak: 90 }]);
  });
});
