import { describe, expect, it } from "vitest";
import { type AlertRuns, type EpisodeOut, stepAlerts } from "../../worker/derive/alert-machine.ts";
import { rulesOf, type Version } from "../../worker/derive/alert-rules.ts";

const fleet = { kind: "fleet" } as const;
const speeding = (ruleId: number, limitKmh: number, minSeconds = 0): Version => ({
  ruleId,
  name: `over ${limitKmh}`,
  kind: "speeding",
  params: { limitKmh, minSeconds },
  quietHours: null,
  scope: fleet,
  from: 0,
  to: Number.POSITIVE_INFINITY,
});
const enter = (ruleId: number, geofenceId: number): Version => ({
  ...speeding(ruleId, 0),
  name: `enter ${geofenceId}`,
  kind: "geofence_enter",
  params: { geofenceId },
});
const fix = (t: number) => ({ t, lat: 25, lng: 55, ignition: true });
// not settled: each step may be the first of a run, with runs of rules the vehicle no longer has
const ctx = (speed: number, lastAt: number | null = null) => ({
  speed,
  silent: false,
  lastAt,
  settled: false,
});

function step(
  versions: Version[],
  runs: AlertRuns,
  t: number,
  speed: number,
  events: Parameters<typeof stepAlerts>[3] = [],
) {
  const out: EpisodeOut[] = [];
  const rules = rulesOf(versions, "v1", undefined);
  stepAlerts(runs, fix(t), ctx(speed, t - 1000), events, { rules, movingSpeedKmh: 5, fleetTz: "UTC" }, out);
  return out;
}

describe("the alert step", () => {
  it("does not judge speeding on a speed worked out from a position jump (above what a fix may report)", () => {
    // the step's fixes report no speed: each is judged on the speed worked out from the positions
    const versions = [speeding(1, 80)];
    const runs: AlertRuns = new Map();
    expect(step(versions, runs, 1000, 1733)).toEqual([]);
    expect(runs.size).toBe(0);
    // an episode in progress goes on through the jump, its peak untouched, and ends at the next fix
    expect(step(versions, runs, 2000, 90)).toEqual([]);
    expect(step(versions, runs, 3000, 2658.6)).toEqual([]);
    expect(runs.get(1)).toMatchObject({ confirmedAt: 2000, peak: 90 });
    expect(step(versions, runs, 4000, 50)).toMatchObject([{ ruleId: 1, peak: 90, endedAt: 4000 }]);
    // at the fastest a fix may report, still judged
    expect(step(versions, runs, 5000, 400)).toEqual([]);
    expect(runs.get(1)).toMatchObject({ confirmedAt: 5000, peak: 400 });
  });

  it("walks the geofence rules only at a fix with geofence events, in the rules' order", () => {
    const versions = [enter(1, 9), speeding(2, 80)];
    const runs: AlertRuns = new Map();
    expect(step(versions, runs, 1000, 90)).toEqual([]);
    expect(runs.get(2)).toMatchObject({ confirmedAt: 1000, peak: 90 });
    // the speeding episode ends at the fix that enters the geofence: both, the rules in their order
    const at = { t: 2000, lat: 25, lng: 55 };
    const out = step(versions, runs, 2000, 50, [{ geofenceId: 9, kind: "enter", at, confirmedAt: 2000 }]);
    expect(out.map((e) => [e.ruleId, e.kind, e.endedAt])).toEqual([
      [1, "geofence_enter", 2000],
      [2, "speeding", 2000],
    ]);
  });

  it("removes a run a geofence rule has in a state saved before, at a fix with no geofence event", () => {
    const runs: AlertRuns = new Map([
      [1, { start: { t: 500, lat: 25, lng: 55 }, confirmedAt: null, peak: 0 }],
    ]);
    expect(step([enter(1, 9), speeding(2, 80)], runs, 1000, 50)).toEqual([]);
    expect(runs.size).toBe(0);
  });

  it("ends the episode of a rule no longer among the vehicle's at the next fix", () => {
    const runs: AlertRuns = new Map();
    step([speeding(2, 80)], runs, 1000, 90);
    expect([...runs.keys()]).toEqual([2]);
    const out = step([speeding(3, 100)], runs, 2000, 90);
    expect(out).toMatchObject([{ ruleId: 2, endedAt: 2000, peak: 90 }]);
    expect(runs.size).toBe(0);
  });

  it("ends the episode of a rule whose version at a fix is of a geofence kind (a kind changed in SQL)", () => {
    const versions = [
      { ...speeding(4, 80), to: 5000 },
      { ...enter(4, 9), from: 5000 },
    ];
    const runs: AlertRuns = new Map();
    expect(step(versions, runs, 1000, 90)).toEqual([]);
    expect(runs.get(4)).toMatchObject({ confirmedAt: 1000 });
    expect(step(versions, runs, 6000, 90)).toMatchObject([{ ruleId: 4, kind: "speeding", endedAt: 6000 }]);
    expect(runs.size).toBe(0);
  });
});
