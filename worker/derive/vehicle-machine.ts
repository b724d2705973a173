/**
 * One vehicle's track, in event time (recorded_at order), turned into trips, stops and geofence
 * transitions. Pure: the worker feeds it fixes read back from vehicle_locations in time order,
 * starting from a saved state, and stores what it emits. Because the state after a fix depends
 * only on the state before it and the fix, a run from a snapshot taken at t over every fix after
 * t gives exactly what a run over the whole history would: that is how late fixes are handled
 * (worker/derive/derive-vehicles.ts re-runs from the newest checkpoint before the late fix).
 *
 * Trips (Traccar-like):
 * - a fix is in motion when ignition is not off and its speed (reported, else distance / time
 *   from the previous fix) is at least MOVING_SPEED_KMH;
 * - distance is movement only: the step from the previous fix counts when the fix it arrives at
 *   is in motion (isMovementStep, the rule the daily rollup applies too), so GPS jitter of a parked
 *   truck, or of one waiting at a light, adds nothing;
 * - a trip starts at a fix in motion; it ends at the first fix of a standstill that lasts
 *   STOP_MIN_SECONDS (shorter halts, a traffic light, stay inside the trip), or at once when the
 *   ignition goes off (ending at the first fix of the standstill that led to it);
 * - a silence (no fix for more than TRIP_GAP_SECONDS) ends the trip at the last fix before it
 *   (or at its standstill's first fix); what the vehicle did meanwhile is unknown, so the distance
 *   across it belongs to no trip, and the first fix after it has only its reported speed;
 * - trips shorter than TRIP_MIN_DISTANCE_M are GPS noise and dropped;
 * - a stop is the time between two trips, where the first ended; one shorter than a second (an
 *   ignition-off fix, then a silence, then the vehicle elsewhere: zero length) is dropped. The parking after the last
 *   trip becomes a stop when the next trip starts. A silence while parked stays in the stop, unless
 *   the vehicle reappears elsewhere (TRIP_MIN_DISTANCE_M away): then the stop ends at the last fix
 *   before the silence. After a silence that ended a trip or a stop, the next stop starts at the
 *   first fix after it, if that one stands.
 *
 * Geofences, per geofence, against the geofence as it was at each fix's time (its version): the
 * confirmed side (inside or outside, outside at first) changes only when the fixes stay on the
 * other side for the geofence's dwell time (0 = the first fix does). The event is dated at the
 * first fix on the new side and confirmed by the fix that completed the dwell; GPS jitter across
 * the boundary shorter than the dwell therefore emits nothing, either way. A geofence counts only
 * from its creation to its deletion; where its polygon is redrawn (or first drawn), the side is
 * set, without an event, to where the vehicle's previous fix was, so only crossings after the
 * save are events.
 *
 * Alert rules, per rule, as alert-machine.ts says: episodes of speeding, idling and thresholds,
 * and an instant episode per geofence event a geofence rule asks for.
 */
import { type AlertStep, type EpisodeOut, openEpisodes, stepAlerts } from "./alert-machine.ts";
import { packRuns, type StoredRuns, unpackRuns } from "./alert-runs-packing.ts";

/** A stored fix as the machine reads it. */
export interface TrackFix {
  t: number;
  lat: number;
  lng: number;
  speed: number | null;
  ignition: boolean | null;
  /** metres from the previous stored fix of the vehicle (null for its first) */
  d: number | null;
  /** geofences whose polygon, as it was at `t`, holds the fix */
  fences: readonly number[];
  /** geofences whose polygon was drawn after the previous fix and held the previous fix */
  insideAtChange: readonly number[];
  /** fleet day (days since 1970-01-01 in FLEET_TZ), for the daily rollup only (day-appends.ts) */
  day?: number;
  /** read for alert thresholds only (track-reads.ts) */
  heading?: number | null;
  altitude?: number | null;
  accuracy?: number | null;
  odometer?: number | null;
  attributes?: Record<string, unknown> | null;
}

export interface At {
  t: number;
  lat: number;
  lng: number;
}

interface OpenTrip {
  start: At;
  /** its newest fix (absent in states saved before silences ended trips) */
  last?: At;
  distance: number;
  maxSpeed: number;
  /** first fix of the standstill in progress, and the trip's distance up to it */
  still: { at: At; distance: number } | null;
}

interface FenceState {
  inside: boolean;
  /** fixes on the other side since `start`, not yet for the dwell time */
  run: { start: At; last: number } | null;
  /** shapeSince of the polygon the side was judged against (absent in older states) */
  shape?: number;
}

/** Serializable (jsonb in vehicle_state.machine and vehicle_checkpoints.state). */
export interface MachineState {
  /** the oldest fix processed: a replay from the start needs the history from here on */
  origin: number | null;
  /** the newest fix processed */
  lastAt: number | null;
  /** event time of the last checkpoint taken */
  checkpointAt: number | null;
  trip: OpenTrip | null;
  /** where the last accepted trip ended: the stop in progress began there */
  lastTripEnd: At | null;
  /** geofence id → state; geofences outside with nothing pending are left out */
  fences: Record<string, FenceState>;
  /** the last geofence change (geofence_changes.seq) known when this state was derived */
  fenceSeq?: number;
  /** the alert rules' runs in progress, packed (absent when none, and in states saved before alerts) */
  alerts?: StoredRuns;
}

export interface TripOut {
  start: At;
  end: At;
  /** the fix that closed the trip */
  closedAt: number;
  distanceM: number;
  maxSpeedKmh: number;
  avgSpeedKmh: number | null;
}

export interface StopOut {
  start: At;
  endAt: number;
  closedAt: number;
}

export interface FenceEventOut {
  geofenceId: number;
  kind: "enter" | "exit";
  at: At;
  confirmedAt: number;
}

export interface MachineRules {
  movingSpeedKmh: number;
  stopMinMs: number;
  tripMinDistanceM: number;
  /** no fix for longer than this (TRIP_GAP_SECONDS) is a silence */
  gapMs: number;
  /** a snapshot is emitted when this much event time passed since the last one */
  checkpointEveryMs: number;
  /** the geofence as it was at `t`; undefined when it did not exist then */
  fenceAt(geofenceId: number, t: number): { shapeSince: number; dwellMs: number } | undefined;
  /** the alert rules of this vehicle, and FLEET_TZ for quiet hours (none: no alerts) */
  alerts?: Omit<AlertStep, "movingSpeedKmh">;
}

export interface MachineOutput {
  trips: TripOut[];
  stops: StopOut[];
  events: FenceEventOut[];
  checkpoints: { at: number; state: MachineState }[];
  /** episodes that ended during the run, then those still open after it */
  alerts: EpisodeOut[];
}

export function initialState(): MachineState {
  return { origin: null, lastAt: null, checkpointAt: null, trip: null, lastTripEnd: null, fences: {} };
}

/** Runs `fixes` (time order; those at or before state.lastAt are skipped) from `state`, in place. */
export function runMachine(
  state: MachineState,
  fixes: Iterable<TrackFix>,
  rules: MachineRules,
): MachineOutput {
  const out: MachineOutput = { trips: [], stops: [], events: [], checkpoints: [], alerts: [] };
  const alertStep: AlertStep | undefined = rules.alerts && {
    rules: rules.alerts.rules,
    fleetTz: rules.alerts.fleetTz,
    movingSpeedKmh: rules.movingSpeedKmh,
  };
  // unpacked for the run, packed again where the state is stored (checkpoints, the end)
  const runs = unpackRuns(state.alerts);
  // the runs as stored may be of rules the vehicle no longer has: the first step looks (stepAlerts)
  let settled = false;
  const store = () => {
    const packed = packRuns(runs);
    if (packed) state.alerts = packed;
    else delete state.alerts;
  };
  for (const fix of fixes) {
    if (state.lastAt !== null && fix.t <= state.lastAt) continue;
    const at: At = { t: fix.t, lat: fix.lat, lng: fix.lng };
    const silent = state.lastAt !== null && fix.t - state.lastAt > rules.gapMs;
    // across a silence distance / time is no speed: only a reported one counts
    const speed = fix.speed ?? (silent ? 0 : derivedSpeed(state, fix));
    stepTrip(state, fix, at, speed, silent, rules, out);
    const fenceEvents = out.events.length;
    stepFences(state, fix, at, rules, out);
    if (alertStep && (alertStep.rules.all.length > 0 || runs.size > 0)) {
      const ctx = { speed, silent, lastAt: state.lastAt, settled };
      const events = out.events.length > fenceEvents ? out.events.slice(fenceEvents) : NO_EVENTS;
      stepAlerts(runs, fix, ctx, events, alertStep, out.alerts);
      settled = true;
    }
    state.lastAt = fix.t;
    state.origin ??= fix.t;
    if (state.checkpointAt === null || fix.t - state.checkpointAt >= rules.checkpointEveryMs) {
      state.checkpointAt = fix.t;
      store();
      out.checkpoints.push({ at: fix.t, state: structuredClone(state) });
    }
  }
  out.alerts.push(...openEpisodes(runs));
  store();
  return out;
}

const NO_EVENTS: readonly FenceEventOut[] = [];

/** The speed from the previous fix (km/h): distance / time. */
function derivedSpeed(state: MachineState, fix: TrackFix): number {
  if (fix.d === null || state.lastAt === null || fix.t <= state.lastAt) return 0;
  return (fix.d / ((fix.t - state.lastAt) / 1000)) * 3.6;
}

function stepTrip(
  state: MachineState,
  fix: TrackFix,
  at: At,
  speed: number,
  silent: boolean,
  rules: MachineRules,
  out: MachineOutput,
): void {
  const motion = isMovementStep(fix.ignition, speed, rules.movingSpeedKmh);
  if (silent && state.trip) {
    const ended = state.trip;
    state.trip = null;
    const end = ended.still ?? { at: ended.last ?? ended.start, distance: ended.distance };
    if (closeTrip(state, ended, end, fix.t, rules, out)) state.lastTripEnd = motion ? null : at;
  } else if (silent && state.lastTripEnd && state.lastAt !== null && (fix.d ?? 0) >= rules.tripMinDistanceM) {
    // parked when it fell silent, elsewhere after: the stop ended where it was last seen there
    pushStop(out, { start: state.lastTripEnd, endAt: state.lastAt, closedAt: fix.t });
    state.lastTripEnd = motion ? null : at;
  }
  const trip = state.trip;
  if (!trip) {
    if (motion) state.trip = { start: at, last: at, distance: 0, maxSpeed: speed, still: null };
    return;
  }
  if (motion) trip.distance += fix.d ?? 0;
  trip.last = at;
  if (motion) {
    trip.still = null;
    trip.maxSpeed = Math.max(trip.maxSpeed, speed);
    return;
  }
  trip.still ??= { at, distance: trip.distance };
  if (fix.ignition === false || fix.t - trip.still.at.t >= rules.stopMinMs) {
    closeTrip(state, trip, trip.still, fix.t, rules, out);
    state.trip = null;
  }
}

/**
 * The movement rule, one for trips and the daily rollup (daily-analytics.ts states it in SQL): the
 * step to a fix is movement when that fix is in motion, i.e. its ignition is not off and its speed
 * (reported, else the step's distance / time; none across a silence) is at least MOVING_SPEED_KMH.
 */
export function isMovementStep(ignition: boolean | null, speedKmh: number, movingSpeedKmh: number): boolean {
  return ignition !== false && speedKmh >= movingSpeedKmh;
}

// a stop under a second long (its two ends on one fix) says nothing: dropped
const STOP_MIN_MS = 1000;

function pushStop(out: MachineOutput, stop: StopOut): void {
  if (stop.endAt - stop.start.t >= STOP_MIN_MS) out.stops.push(stop);
}

/**
 * What the machine emits when `state`'s vehicle stays silent from now on: its trip in progress
 * ends at its last fix (or its standstill's first fix), as the first fix after a silence would
 * end it (closed at the time the silence became one: lastAt + gap). Pure: `state` is not changed,
 * so fixes that later fill the silence continue the trip (worker/derive/silent-trips.ts).
 */
export function closeOnSilence(
  state: MachineState,
  rules: Pick<MachineRules, "tripMinDistanceM" | "gapMs">,
): MachineOutput {
  const out: MachineOutput = { trips: [], stops: [], events: [], checkpoints: [], alerts: [] };
  if (!state.trip || state.lastAt === null) return out;
  const copy = structuredClone(state);
  const trip = copy.trip as OpenTrip;
  const end = trip.still ?? { at: trip.last ?? trip.start, distance: trip.distance };
  closeTrip(copy, trip, end, state.lastAt + rules.gapMs, rules, out);
  return out;
}

/** Emits the trip ending at `end` and the stop before it, unless it is noise; true if emitted. */
function closeTrip(
  state: MachineState,
  trip: OpenTrip,
  end: { at: At; distance: number },
  closedAt: number,
  rules: Pick<MachineRules, "tripMinDistanceM">,
  out: MachineOutput,
): boolean {
  if (end.distance < rules.tripMinDistanceM) return false;
  const seconds = (end.at.t - trip.start.t) / 1000;
  out.trips.push({
    start: trip.start,
    end: end.at,
    closedAt,
    distanceM: end.distance,
    maxSpeedKmh: trip.maxSpeed,
    avgSpeedKmh: seconds > 0 ? (end.distance / seconds) * 3.6 : null,
  });
  if (state.lastTripEnd) pushStop(out, { start: state.lastTripEnd, endAt: trip.start.t, closedAt });
  state.lastTripEnd = end.at;
  return true;
}

function stepFences(
  state: MachineState,
  fix: TrackFix,
  at: At,
  rules: MachineRules,
  out: MachineOutput,
): void {
  const inside = new Set(fix.fences);
  const insideAtChange = new Set(fix.insideAtChange);
  const ids = new Set<number>([...fix.fences, ...fix.insideAtChange]);
  for (const id of Object.keys(state.fences)) ids.add(Number(id));
  for (const id of ids) {
    const key = String(id);
    const version = rules.fenceAt(id, fix.t);
    if (version === undefined) {
      // not created yet, or deleted, at this fix's time: nothing to cross, and no event for it
      delete state.fences[key];
      continue;
    }
    let f = state.fences[key];
    if (f?.shape !== undefined && f.shape !== version.shapeSince) f = undefined;
    // a polygon drawn since the previous fix: the side is where that fix was, without an event
    f ??= { inside: insideAtChange.has(id), run: null };
    f.shape = version.shapeSince;
    const side = inside.has(id);
    if (side === f.inside) {
      f.run = null;
    } else {
      f.run ??= { start: at, last: fix.t };
      f.run.last = fix.t;
      if (f.run.last - f.run.start.t >= version.dwellMs) {
        out.events.push({
          geofenceId: id,
          kind: side ? "enter" : "exit",
          at: f.run.start,
          confirmedAt: fix.t,
        });
        f.inside = side;
        f.run = null;
      }
    }
    if (!f.inside && !f.run) delete state.fences[key];
    else state.fences[key] = f;
  }
}
