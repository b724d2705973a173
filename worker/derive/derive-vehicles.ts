import type pg from "pg";
import type { AlertMessage } from "../../core/alerts.ts";
import type { Config } from "../../core/config.ts";
import { parseFixKey } from "../store/insert-locations.ts";
import { ahead } from "../store/pipeline.ts";
import type { LockedVehicle } from "../store/vehicle-state.ts";
import { AlertRuleVersions, type VehicleAlertRules } from "./alert-rules.ts";
import { type DayAppend, DayAppends, type DayFix } from "./day-appends.ts";
import { writeRuns } from "./derived-writes.ts";
import { type FenceChanges, FenceVersions, readFenceChanges } from "./fence-versions.ts";
import { reconcileAlerts } from "./reconcile-alerts.ts";
import { type EventChanges, readReplacedEvents, reconcileEvents } from "./reconcile-events.ts";
import { readCheckpoints, readTrackWindows } from "./track-reads.ts";
import {
  initialState,
  type MachineOutput,
  type MachineRules,
  type MachineState,
  runMachine,
} from "./vehicle-machine.ts";

// rows read back per round, over all the batch's vehicles (at least 200 each): ~20 MB of fixes
const PAGE_ROWS = 100_000;
// a replay after a late fix starts at most this much event time before it
const CHECKPOINT_EVERY_MS = 3_600_000;

export type DeriveRules = Omit<MachineRules, "fenceAt" | "alerts"> & {
  /** FLEET_TZ, where alert quiet hours are local times (default UTC) */
  fleetTz?: string;
  /** history before this (epoch ms) may be gone (retention): no replay starts before it */
  retainedFrom: number;
  /** rows read back per round over all vehicles (default 100,000) */
  pageRows?: number;
};

/** The machine's rules from the configuration (a batch's, and `logitrack recompute`'s). */
export function deriveRules(
  config: Pick<
    Config,
    "MOVING_SPEED_KMH" | "STOP_MIN_SECONDS" | "TRIP_GAP_SECONDS" | "TRIP_MIN_DISTANCE_M" | "FLEET_TZ"
  >,
  retainedFrom: number,
): DeriveRules {
  return {
    fleetTz: config.FLEET_TZ,
    movingSpeedKmh: config.MOVING_SPEED_KMH,
    stopMinMs: config.STOP_MIN_SECONDS * 1000,
    gapMs: config.TRIP_GAP_SECONDS * 1000,
    tripMinDistanceM: config.TRIP_MIN_DISTANCE_M,
    checkpointEveryMs: CHECKPOINT_EVERY_MS,
    retainedFrom,
  };
}

export interface DeriveResult {
  /** the machine after this batch, per vehicle that had new fixes */
  machines: Map<string, MachineState>;
  events: EventChanges;
  /** the alert episodes' new phases (reconcile-alerts.ts), already queued for the notifier */
  alerts: AlertMessage[];
  /** how many of them went to the notifier's outbox (queue-alert-phases.ts) */
  queued: number;
  /** vehicles whose late fixes made the machine re-run from a checkpoint */
  replayed: Set<string>;
  /** vehicles whose late fixes predate any replayable point (retention): left out of trips/geofences */
  skipped: number;
  /** the daily rollup's additions from the tracks read, for the vehicles that continued their state */
  days: DayAppend[];
}

export interface Start {
  state: MachineState;
  /** the fix the state was taken at; null = before the first fix */
  since: number | null;
  /** not a continuation of the saved state: what is stored after `since` gets replaced */
  replaces: boolean;
  /** the vehicle's newest stored fix, when known: its track is read up to it (track-reads.ts) */
  until?: number;
}

/**
 * Trips, stops and geofence events of the vehicles with newly stored fixes, in event time.
 * Runs under the vehicles' row locks (worker/store/vehicle-state.ts), so the state read here is the one
 * the previous batch left and no other worker changes it before COMMIT.
 *
 * Choosing where the machine starts, per vehicle (t0 = its oldest new fix):
 * - in order (t0 after the machine's last fix): continue from the saved state; the window read
 *   back is the last fix (for its distance) plus the new ones;
 * - late (t0 at or before it): the saved state already reflects fixes after t0, so it is useless.
 *   The machine restarts from the newest checkpoint taken before t0 (a snapshot of the state after
 *   every fix up to it: still exact, since nothing before t0 changed) and re-runs every stored fix
 *   after it, the late ones now in their place. What it emits replaces the trips, stops and events
 *   stored after the checkpoint (derived-writes.ts, reconcile-events.ts), so late or reversed
 *   arrival ends with what in-order arrival gives: the transitions that really happened, once.
 *   Without a checkpoint before t0 it runs from the start of the history, unless retention has
 *   cut that history: then the late fixes are stored but left out (counted as skipped).
 * - a geofence change the saved state was not derived with (geofence_changes after its fenceSeq)
 *   that takes effect at or before the machine's last fix is late data too: a fix processed before
 *   the save committed (or from a device whose clock runs ahead) was judged without it. t0 is
 *   then the change's time; when retention leaves nothing to replay from, the change is taken as
 *   it comes and the new fixes continue the saved state.
 */
export async function deriveVehicles(
  client: pg.PoolClient,
  locked: ReadonlyMap<string, LockedVehicle>,
  inserted: ReadonlySet<string>,
  rules: DeriveRules,
  /** the geofence changes, when already asked for with the lock (readFenceChanges with vehicle ids) */
  fenceChangesRead?: () => Promise<FenceChanges>,
): Promise<DeriveResult> {
  const result: DeriveResult = {
    machines: new Map(),
    events: { inserted: [], retracted: [] },
    alerts: [],
    queued: 0,
    replayed: new Set(),
    skipped: 0,
    days: [],
  };
  const oldestNew = new Map<string, number>();
  const newestNew = new Map<string, number>();
  for (const key of inserted) {
    const { vehicleId, recordedAt } = parseFixKey(key);
    const cur = oldestNew.get(vehicleId);
    if (cur === undefined || recordedAt < cur) oldestNew.set(vehicleId, recordedAt);
    const newest = newestNew.get(vehicleId);
    if (newest === undefined || recordedAt > newest) newestNew.set(vehicleId, recordedAt);
  }
  if (oldestNew.size === 0) return result;

  // asked for now, answered with the checkpoints (or the tracks): runFromStarts awaits it
  const alertRules = loadAlertRules(client);
  const saved = (vehicleId: string) => locked.get(vehicleId)?.machine ?? null;
  const seqs = [...oldestNew.keys()].map((v) => saved(v)?.fenceSeq).filter((q) => q !== undefined);
  const fenceChanges = await (fenceChangesRead?.() ??
    readFenceChanges(client, seqs.length > 0 ? Math.min(...seqs) : null));
  /** the earliest change this vehicle's saved state was not derived with (Infinity: none) */
  const unseenChange = (state: MachineState) =>
    Math.min(...fenceChanges.changes.filter((c) => c.seq > (state.fenceSeq ?? Infinity)).map((c) => c.at));

  const starts = new Map<string, Start>();
  const late: { vehicleId: string; before: number; inOrder: boolean }[] = [];
  for (const [vehicleId, t0] of oldestNew) {
    const state = saved(vehicleId);
    if (state?.lastAt == null) {
      starts.set(vehicleId, { state: initialState(), since: null, replaces: true });
      continue;
    }
    const changed = unseenChange(state);
    if (t0 > state.lastAt && changed > state.lastAt)
      starts.set(vehicleId, { state, since: state.lastAt, replaces: false });
    else late.push({ vehicleId, before: Math.min(t0, changed), inOrder: t0 > state.lastAt });
  }
  const checkpoints = await readCheckpoints(client, late);
  for (const { vehicleId, inOrder } of late) {
    const cp = checkpoints.get(vehicleId);
    const state = saved(vehicleId) as MachineState;
    const origin = state.origin ?? null;
    if (cp && cp.at >= rules.retainedFrom) {
      starts.set(vehicleId, { state: cp.state, since: cp.at, replaces: true });
    } else if (!cp && (origin === null || origin >= rules.retainedFrom)) {
      starts.set(vehicleId, { state: initialState(), since: null, replaces: true });
    } else if (inOrder) {
      starts.set(vehicleId, { state, since: state.lastAt, replaces: false });
      continue;
    } else {
      result.skipped++;
      continue;
    }
    result.replayed.add(vehicleId);
  }

  // The newest stored fix of each vehicle, under its lock: the newest its saved machine ran over
  // (a run reads the track to its end), its state's last_fix_at or this batch's newest fix. The
  // machine's is needed as well: history stored before the vehicle had a state row (an install
  // upgraded from before sql/006) is in no last_fix_at. A vehicle whose machine never ran (no
  // state, or a state row without a machine) is read to the end.
  for (const [vehicleId, start] of starts) {
    const saved = locked.get(vehicleId);
    const ran = saved?.machine?.lastAt;
    if (ran == null) continue;
    start.until = Math.max(ran, saved?.lastFixAt ?? ran, newestNew.get(vehicleId) ?? ran);
  }
  const days = new DayAppends({ movingSpeedKmh: rules.movingSpeedKmh, gapSeconds: rules.gapMs / 1000 });
  const runs = await runFromStarts(client, starts, rules, {
    replayed: result.replayed,
    notify: true,
    alertRules,
    fencesAt: fenceChanges,
    days,
  });
  result.days = days.finish();
  for (const [vehicleId, start] of starts) {
    start.state.fenceSeq = fenceChanges.head;
    result.machines.set(vehicleId, start.state);
  }
  result.events = runs.events;
  result.alerts = runs.alerts;
  result.queued = runs.queued;
  return result;
}

/** Whether the last rule versions loaded read device attributes: the guess for the next track read. */
let attributesLastRead = false;

interface AlertRulesLoad {
  versions: AlertRuleVersions;
  loaded: () => Promise<void>;
}

/** The alert rule versions, asked for now on a pipelined client (store/pipeline.ts). */
function loadAlertRules(client: pg.PoolClient): AlertRulesLoad {
  const versions = new AlertRuleVersions();
  return { versions, loaded: ahead(client, () => versions.load(client)) };
}

/**
 * Runs each vehicle's machine from its start over its stored fixes, and writes what it emitted:
 * trips, stops and checkpoints (derived-writes.ts), geofence events (reconcile-events.ts), alert
 * episodes (reconcile-alerts.ts; their announcements queued for the notifier when `notify`).
 * Each start's state is advanced in place to the vehicle's newest fix.
 */
export async function runFromStarts(
  client: pg.PoolClient,
  starts: ReadonlyMap<string, Start>,
  rules: DeriveRules,
  opts: {
    replayed?: ReadonlySet<string>;
    notify?: boolean;
    alertRules?: AlertRulesLoad;
    /** the geofence changes' head the batch read: versions already read at it are not read again */
    fencesAt?: { db: string; head: number };
    /** given the tracks of the starts that continue a saved state (not `replaces`) */
    days?: DayAppends;
  } = {},
): Promise<{ events: EventChanges; alerts: AlertMessage[]; queued: number }> {
  // Read back and run in pages: a replay from the start of a long history (or the first batch after
  // installing this on old data) must not hold it all in memory at once.
  const fences = new FenceVersions(opts.fencesAt);
  const machineRules: MachineRules = { ...rules, fenceAt: (id, t) => fences.at(id, t) };
  // the stored events the runs re-derive: read with the first page's tracks (store/pipeline.ts)
  const replacedEvents = ahead(client, () =>
    readReplacedEvents(
      client,
      [...starts].map(([vehicleId, s]) => ({ vehicleId, since: s.since, replaces: s.replaces })),
    ),
  );
  const { versions: alertRules, loaded } = opts.alertRules ?? loadAlertRules(client);
  // the first tracks are read with what the last batch's rules said (they change seldom), not after
  // waiting for this batch's: read again in the rare batch where that changed
  let withAttributes = attributesLastRead;
  let vehicleRules = new Map<string, VehicleAlertRules>();
  const outputs = new Map<string, MachineOutput>();
  const fleetTz = rules.fleetTz ?? "UTC";
  let todo = [...starts.keys()];
  for (let first = true; todo.length > 0; first = false) {
    const page = rules.pageRows ?? PAGE_ROWS;
    const limit = Math.max(Math.min(200, page), Math.ceil(page / todo.length));
    const windows = todo.map((vehicleId) => {
      const s = starts.get(vehicleId) as Start;
      return { vehicleId, since: first ? s.since : s.state.lastAt, until: s.until ?? null };
    });
    let tracks = await readTrackWindows(client, windows, limit, withAttributes, fleetTz);
    if (first) {
      await loaded();
      vehicleRules = new Map([...starts.keys()].map((v) => [v, alertRules.forVehicle(v)]));
      if (alertRules.readsAttributes() !== withAttributes) {
        withAttributes = attributesLastRead = alertRules.readsAttributes();
        tracks = await readTrackWindows(client, windows, limit, withAttributes, fleetTz);
      }
    }
    const ids: number[] = [];
    for (const fixes of tracks.values()) for (const f of fixes) ids.push(...f.fences, ...f.insideAtChange);
    if (first) {
      for (const s of starts.values()) for (const id of Object.keys(s.state.fences)) ids.push(Number(id));
      for (const e of await replacedEvents()) ids.push(e.geofenceId);
    }
    await fences.load(client, ids);

    for (const vehicleId of todo) {
      const start = starts.get(vehicleId) as Start;
      if (opts.days && !start.replaces)
        opts.days.add(vehicleId, (tracks.get(vehicleId) ?? []) as DayFix[], first ? start.since : undefined);
      const alerts = {
        rules: vehicleRules.get(vehicleId) ?? alertRules.forVehicle(vehicleId),
        fleetTz,
      };
      const out = runMachine(start.state, tracks.get(vehicleId) ?? [], {
        ...machineRules,
        alerts,
      });
      const acc = outputs.get(vehicleId);
      if (!acc) outputs.set(vehicleId, out);
      else
        for (const k of ["trips", "stops", "events", "checkpoints", "alerts"] as const)
          (acc[k] as unknown[]).push(...out[k]);
    }
    todo = todo.filter((vehicleId) => (tracks.get(vehicleId)?.length ?? 0) >= limit);
  }

  const runs = [...starts].map(([vehicleId, start]) => {
    const out = outputs.get(vehicleId) ?? { trips: [], stops: [], events: [], checkpoints: [], alerts: [] };
    const openTripStart = start.state.trip?.start.t ?? null;
    return { vehicleId, since: start.since, replaces: start.replaces, openTripStart, ...out };
  });
  await writeRuns(client, runs);
  const events = await reconcileEvents(client, runs, fences, await replacedEvents());
  const notify = opts.notify ? (ruleId: number) => alertRules.notifies(ruleId) : false;
  const alerts = await reconcileAlerts(client, runs, opts.replayed ?? new Set(), notify);
  return { events, alerts: alerts.messages, queued: alerts.queued };
}
