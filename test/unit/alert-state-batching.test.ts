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
});
