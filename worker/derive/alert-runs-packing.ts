import type { AlertRunState, AlertRuns } from "./alert-machine.ts";

/**
 * The alert runs in progress as the machine state keeps them (vehicle_state.machine.alerts and
 * vehicle_checkpoints.state, jsonb), packed. A vehicle at 100 km/h has a run for every speeding
 * rule below that, and nearly all of them end before their minimum; most start at the same few
 * fixes. Kept as one object per rule they made the state several times larger (about 100 bytes a
 * run), and every batch reads, parses, writes and WAL-logs each of its vehicles' state whole (and
 * compressed it once past PostgreSQL's TOAST threshold). Packed, a run not yet an episode is its
 * rule id in the group of runs with its start fix and peak (the speeding runs that started at one
 * fix have seen the same speeds since: one peak), in a string: jsonb keeps a string as its bytes,
 * where each number of an array costs a numeric and an entry (twice the bytes, and parsing both
 * ways). Episodes in progress (few) stay objects.
 */
export interface PackedRuns {
  /** runs not yet episodes, per start fix and peak: "t,lat,lng,peak,ruleId,ruleId,…" */
  p?: string[];
  /** runs that are episodes, by rule id */
  c?: Record<string, AlertRunState>;
}

/** States saved before packing: rule id → run. */
type UnpackedRuns = Record<string, AlertRunState>;

export type StoredRuns = PackedRuns | UnpackedRuns;

// a peak is announced and stored to one decimal (reconcile-alerts.ts); rounding keeps the order of
// values, so the rounded maximum of rounded values is the rounded maximum
const round1 = (v: number) => Math.round(v * 10) / 10;

const isPacked = (s: StoredRuns): s is PackedRuns => "p" in s || "c" in s;

/** The runs by rule id, as the step works on them (fresh objects: the stored ones are left alone). */
export function unpackRuns(stored: StoredRuns | undefined): AlertRuns {
  const runs: AlertRuns = new Map();
  if (!stored) return runs;
  if (!isPacked(stored)) {
    for (const [id, run] of Object.entries(stored)) runs.set(Number(id), { ...run, start: { ...run.start } });
    return runs;
  }
  for (const packed of stored.p ?? []) {
    const parts = packed.split(",");
    // one start for the group's runs: the step never changes a run's start
    const start = { t: Number(parts[0]), lat: Number(parts[1]), lng: Number(parts[2]) };
    const peak = Number(parts[3]);
    for (let i = 4; i < parts.length; i++) runs.set(Number(parts[i]), { start, confirmedAt: null, peak });
  }
  for (const [id, run] of Object.entries(stored.c ?? {}))
    runs.set(Number(id), { ...run, start: { ...run.start } });
  return runs;
}

interface Group {
  start: AlertRunState["start"];
  peak: number;
  ids: number[];
}

/**
 * The runs packed for storing; undefined when there are none. In rule id order whatever order
 * the runs were made in, so equal runs are stored alike (a replay's state is the in-order one).
 */
export function packRuns(runs: ReadonlyMap<number, AlertRunState>): PackedRuns | undefined {
  if (runs.size === 0) return undefined;
  const ids = [...runs.keys()];
  if (!ascending(ids)) ids.sort((a, b) => a - b);
  // groups by start time and rounded peak, in the order first seen; found by time and then peak
  // among the few of one start (a key string formatted per run was most of what packing cost)
  const groups: Group[] = [];
  const byStart = new Map<number, Group[]>();
  let confirmed: Record<string, AlertRunState> | undefined;
  for (const id of ids) {
    const run = runs.get(id) as AlertRunState;
    if (run.confirmedAt !== null) {
      const { last: _, ...kept } = run;
      confirmed ??= {};
      confirmed[id] = { ...kept, start: { ...kept.start } };
      continue;
    }
    const peak = round1(run.peak);
    let same = byStart.get(run.start.t);
    if (!same) {
      same = [];
      byStart.set(run.start.t, same);
    }
    let group = same.find((g) => g.peak === peak);
    if (!group) {
      group = { start: run.start, peak, ids: [] };
      same.push(group);
      groups.push(group);
    }
    group.ids.push(id);
  }
  if (groups.length === 0 && !confirmed) return undefined;
  const p = groups.map((g) => `${g.start.t},${g.start.lat},${g.start.lng},${g.peak},${g.ids.join(",")}`);
  return {
    ...(p.length > 0 ? { p } : {}),
    ...(confirmed ? { c: confirmed } : {}),
  };
}

function ascending(ids: readonly number[]): boolean {
  for (let i = 1; i < ids.length; i++) if ((ids[i] as number) < (ids[i - 1] as number)) return false;
  return true;
}
