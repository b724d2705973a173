import { inQuietHours, NUMERIC_FIX_FIELDS } from "../../core/alert-params.ts";
import type { AlertRuleKind, SpeedingParams, ThresholdParams } from "../../core/alerts.ts";
import { MAX_SPEED_KMH } from "../../core/fix.ts";
import { type AlertRuleAt, type RuleSlot, type VehicleAlertRules, versionAt } from "./alert-rules.ts";

/**
 * Alert episodes of one vehicle, a step of the vehicle machine (vehicle-machine.ts), so they are
 * derived in event time and replayed from checkpoints exactly like trips and geofence events.
 *
 * Duration kinds (speeding, idling, threshold): a run of consecutive fixes for which the rule's
 * condition holds; it becomes an episode (confirmed) once it has lasted the rule's minimum, dated
 * from its first fix; the episode ends at the first fix for which the condition no longer holds,
 * at the first fix judged without the rule (edited out of scope, disabled, deleted), or, across a
 * silence (no fix for more than TRIP_GAP_SECONDS), at the last fix before it. Its peak is the most
 * extreme value seen. A fix that lacks the attribute a threshold reads changes nothing.
 * Geofence kinds: each geofence event the machine derives is an episode of one instant.
 * Quiet hours are judged at the episode's start, in FLEET_TZ, against the rule's version then.
 */

export interface AlertFix {
  t: number;
  lat: number;
  lng: number;
  ignition: boolean | null;
  speed?: number | null;
  heading?: number | null;
  altitude?: number | null;
  accuracy?: number | null;
  odometer?: number | null;
  attributes?: Record<string, unknown> | null;
}

interface At {
  t: number;
  lat: number;
  lng: number;
}

/** A rule's run in progress (stored packed: alert-runs-packing.ts). */
export interface AlertRunState {
  start: At;
  /** its newest fix (in states saved before runs were packed; nothing needs it) */
  last?: number;
  /** the fix that made the run an episode; null: not yet */
  confirmedAt: number | null;
  peak: number;
  /** set when the run is confirmed (a run that never becomes an episode does not carry them) */
  quiet?: boolean;
  name?: string;
  kind?: AlertRuleKind;
}

export interface EpisodeOut {
  ruleId: number;
  ruleName: string;
  kind: AlertRuleKind;
  start: At;
  confirmedAt: number;
  /** null: still open after the run */
  endedAt: number | null;
  peak: number | null;
  quiet: boolean;
}

export interface AlertStep {
  rules: VehicleAlertRules;
  movingSpeedKmh: number;
  fleetTz: string;
}

/**
 * The runs in progress by rule id. A Map keyed by number: the walk looks a run up for each of a
 * vehicle's rules at every fix, and an object keyed by rule id made each lookup, and each key its
 * for-in gave, a string to convert or hash.
 */
export type AlertRuns = Map<number, AlertRunState>;

/**
 * One fix against every rule; `runs` is advanced in place. A fix without geofence events walks
 * only the rules that are not geofence rules (a geofence rule never has a run; one left in a
 * state from before is still ended and removed by the walk over every rule). Runs of rules no
 * longer among the vehicle's are ended after the walk; looking for them costs a lookup per run,
 * so it is done only while `ctx.settled` is false: after one step with the same rules every run
 * left is one of a rule the walk visits (the step keeps no other).
 */
export function stepAlerts(
  runs: AlertRuns,
  fix: AlertFix,
  ctx: { speed: number; silent: boolean; lastAt: number | null; settled: boolean },
  fenceEvents: readonly { geofenceId: number; kind: "enter" | "exit"; at: At; confirmedAt: number }[],
  step: AlertStep,
  out: EpisodeOut[],
): void {
  const { rules } = step;
  // runs of rules no longer in the vehicle's set still need their end (walked after the rules)
  let gone: RuleSlot[] | undefined;
  let fenceRun = false;
  if (!ctx.settled)
    for (const id of runs.keys()) {
      const slot = rules.byRule.get(id);
      if (slot) {
        if (slot.fence) fenceRun = true;
        continue;
      }
      gone ??= [];
      gone.push({ ruleId: id, versions: [], fence: false, speedFloor: Number.NEGATIVE_INFINITY });
    }
  const walk = fenceEvents.length > 0 || fenceRun ? rules.all : rules.durations;
  // after the rules, in rule id order like them
  const slots = gone ? walk.concat(gone.sort((a, b) => a.ruleId - b.ruleId)) : walk;
  // where a run starting at this fix starts; made only if one does (most fixes start nothing)
  let at: At | undefined;
  for (const slot of slots) {
    const id = slot.ruleId;
    let run = runs.get(id);
    // a speeding rule no version of which holds at this speed, without a run: nothing to do
    if (run === undefined && ctx.speed <= slot.speedFloor) continue;
    const rule = versionAt(slot, fix.t);
    // a key is deleted only if it is there: most rules have no run at most fixes
    const had = run !== undefined;
    if (run && ctx.silent) {
      // a silence comes after a fix: lastAt is set
      if (run.confirmedAt !== null) out.push(episode(id, run, ctx.lastAt as number));
      run = undefined;
    }
    if (!rule) {
      if (run && run.confirmedAt !== null) out.push(episode(id, run, fix.t));
      if (had) runs.delete(id);
      continue;
    }
    if (rule.kind === "geofence_enter" || rule.kind === "geofence_exit") {
      // a run here is of a version of another kind (the API refuses a kind change; SQL may not):
      // its episode ends as when its rule is gone
      if (run && run.confirmedAt !== null) out.push(episode(id, run, fix.t));
      if (had) runs.delete(id);
      if (fenceEvents.length === 0) continue;
      const want = rule.kind === "geofence_enter" ? "enter" : "exit";
      const fence = (rule.params as { geofenceId?: number }).geofenceId;
      for (const ev of fenceEvents) {
        if (ev.kind !== want || (fence !== undefined && ev.geofenceId !== fence)) continue;
        out.push({
          ruleId: id,
          ruleName: rule.name,
          kind: rule.kind,
          start: ev.at,
          confirmedAt: ev.confirmedAt,
          endedAt: ev.at.t,
          peak: null,
          quiet: inQuietHours(rule.quietHours, ev.at.t, step.fleetTz),
        });
      }
      continue;
    }
    const judged = judge(rule, fix, ctx.speed, step.movingSpeedKmh);
    if (judged === undefined) {
      // the run goes on (or, ended by a silence, is gone)
      if (!run && had) runs.delete(id);
      continue;
    }
    if (!judged.holds) {
      if (run && run.confirmedAt !== null) out.push(episode(id, run, fix.t));
      if (had) runs.delete(id);
      continue;
    }
    // the run in the map, if any (one a silence ended starts again here, as a new one)
    const going = run;
    at ??= { t: fix.t, lat: fix.lat, lng: fix.lng };
    run ??= { start: at, confirmedAt: null, peak: judged.value };
    run.peak = judged.lowest ? Math.min(run.peak, judged.value) : Math.max(run.peak, judged.value);
    if (run.confirmedAt === null && fix.t - run.start.t >= judged.minMs) {
      run.confirmedAt = fix.t;
      run.quiet = inQuietHours(rule.quietHours, run.start.t, step.fleetTz);
      run.name = rule.name;
      run.kind = rule.kind;
    }
    if (run !== going) runs.set(id, run);
  }
}

/** The episodes still open after a run (their current peak), to be stored as open, in rule id order. */
export function openEpisodes(runs: AlertRuns): EpisodeOut[] {
  // per vehicle and batch, over every run in progress (most are not episodes)
  const open: EpisodeOut[] = [];
  runs.forEach((run, id) => {
    if (run.confirmedAt !== null) open.push(episode(id, run, null));
  });
  return open.length > 1 ? open.sort((a, b) => a.ruleId - b.ruleId) : open;
}

function episode(ruleId: number, run: AlertRunState, endedAt: number | null): EpisodeOut {
  const kind = run.kind as AlertRuleKind;
  return {
    ruleId,
    ruleName: run.name as string,
    kind,
    start: run.start,
    confirmedAt: run.confirmedAt as number,
    endedAt,
    peak: kind === "idling" ? null : run.peak,
    quiet: run.quiet ?? false,
  };
}

/** judge's answer: one object, overwritten by each call (stepAlerts reads it before the next) */
interface Verdict {
  holds: boolean;
  value: number;
  minMs: number;
  lowest: boolean;
}
const verdict: Verdict = { holds: false, value: 0, minMs: 0, lowest: false };

function answer(holds: boolean, value: number, minMs: number, lowest = false): Verdict {
  verdict.holds = holds;
  verdict.value = value;
  verdict.minMs = minMs;
  verdict.lowest = lowest;
  return verdict;
}

/** Whether the rule's condition holds at this fix, and the value judged; undefined: cannot tell. */
function judge(rule: AlertRuleAt, fix: AlertFix, speed: number, movingSpeedKmh: number): Verdict | undefined {
  if (rule.kind === "speeding") {
    // a fix without a reported speed is judged on the one worked out from the previous position;
    // above what any fix may report, that is a position jump, not a speed: cannot tell
    if ((fix.speed === null || fix.speed === undefined) && speed > MAX_SPEED_KMH) return undefined;
    const p = rule.params as unknown as SpeedingParams;
    return answer(speed > p.limitKmh, speed, p.minSeconds * 1000);
  }
  if (rule.kind === "idling") {
    const minMs = (rule.params as { minMinutes: number }).minMinutes * 60_000;
    return answer(fix.ignition === true && speed < movingSpeedKmh, 0, minMs);
  }
  if (rule.kind === "threshold") {
    const p = rule.params as unknown as ThresholdParams;
    const value = attributeOf(fix, p.attribute);
    if (value === undefined) return undefined;
    const minMs = (p.minSeconds ?? 0) * 1000;
    if (p.above !== undefined) return answer(value > p.above, value, minMs);
    return answer(value < (p.below as number), value, minMs, true);
  }
  return undefined;
}

function attributeOf(fix: AlertFix, name: string): number | undefined {
  const v = (NUMERIC_FIX_FIELDS as readonly string[]).includes(name)
    ? fix[name as (typeof NUMERIC_FIX_FIELDS)[number]]
    : fix.attributes?.[name];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}
