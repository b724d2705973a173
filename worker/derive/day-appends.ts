import type { TrackFix } from "./vehicle-machine.ts";

/**
 * The daily rollup's additions (daily-analytics.ts) computed in the worker, from the track windows
 * the vehicle machine reads anyway (track-reads.ts), for vehicles whose new fixes all follow the
 * saved state's last fix: the common case, where PostgreSQL would otherwise read the same rows back
 * and measure the same distances again. Each figure follows the rules of dailyAggregateSql
 * (daily-analytics.ts), segment by segment; the statement adds a day's figures to its row only when
 * the row ends where the window began (the anchor), and computes the day in SQL otherwise.
 */

/** A window fix with its fleet day, as track-reads.ts gives it. */
export type DayFix = Pick<TrackFix, "t" | "speed" | "ignition" | "d"> & { day: number };

/** One vehicle-day's figures over its new fixes, to add to its row (daily_vehicle_stats). */
export interface DayAppend {
  vehicleId: string;
  /** fleet day, days since 1970-01-01 in FLEET_TZ (PostgreSQL's `(t AT TIME ZONE tz)::date`) */
  day: number;
  /** the stored fix of the same day the new ones follow (the row must end there); null: none */
  anchor: number | null;
  firstNew: number;
  lastFixAt: number;
  fixes: number;
  distanceM: number;
  movingS: number;
  idleS: number;
  movingSpeedS: number;
  gapS: number;
  gapDistanceM: number;
  maxSpeedKmh: number | null;
}

interface Open {
  /** the last fix seen: the anchor the window started at, until a new fix follows it */
  prev: DayFix | null;
  /** the day being added up (null: none yet, or the previous one closed) */
  row: DayAppend | null;
}

export class DayAppends {
  private readonly open = new Map<string, Open>();
  private readonly rows: DayAppend[] = [];

  constructor(private readonly rules: { movingSpeedKmh: number; gapSeconds: number }) {}

  /**
   * A page of a vehicle's window, in time order. The first page starts at `since` (the saved
   * state's last fix, re-read for its distance); a later page starts at the previous page's last
   * fix, which is skipped.
   */
  add(vehicleId: string, fixes: readonly DayFix[], since?: number | null): void {
    let v = this.open.get(vehicleId);
    if (!v) {
      v = { prev: null, row: null };
      this.open.set(vehicleId, v);
    }
    for (const fix of fixes) {
      if (fix.day === undefined) throw new Error("a track fix without its fleet day (track-reads.ts)");
      if (v.prev === null && fix.t === since) {
        v.prev = fix;
        continue;
      }
      if (v.prev !== null && fix.t <= v.prev.t) continue;
      this.step(vehicleId, v, fix);
    }
  }

  /**
   * The rows, once every page has been added. A vehicle whose fleet day went backwards in its track
   * (a zone's clocks going back past midnight, which some did until 2010) would have two rows for
   * one day: it has none, and its days are computed in SQL.
   */
  finish(): DayAppend[] {
    for (const v of this.open.values()) this.close(v);
    const keys = new Set<string>();
    const twice = new Set<string>();
    for (const r of this.rows) {
      const key = `${r.day} ${r.vehicleId}`;
      if (keys.has(key)) twice.add(r.vehicleId);
      keys.add(key);
    }
    return twice.size === 0 ? this.rows : this.rows.filter((r) => !twice.has(r.vehicleId));
  }

  private step(vehicleId: string, v: Open, fix: DayFix): void {
    const { prev } = v;
    const sameDay = prev !== null && prev.day === fix.day;
    if (!sameDay) this.close(v);
    let row = v.row;
    if (row === null) {
      row = {
        vehicleId,
        day: fix.day,
        anchor: sameDay && prev ? prev.t : null,
        firstNew: fix.t,
        lastFixAt: fix.t,
        fixes: 0,
        distanceM: 0,
        movingS: 0,
        idleS: 0,
        movingSpeedS: 0,
        gapS: 0,
        gapDistanceM: 0,
        maxSpeedKmh: null,
      };
      v.row = row;
    }
    if (sameDay && prev) this.segment(row, prev, fix);
    row.fixes++;
    row.lastFixAt = fix.t;
    v.prev = fix;
  }

  /**
   * The segment from `a` to `b` (same day): `a`'s speed (reported, else the segment's), the
   * silence rule, movement judged at `b` (isMovementStep), as dailyAggregateSql counts them.
   */
  private segment(row: DayAppend, a: DayFix, b: DayFix): void {
    const min = this.rules.movingSpeedKmh;
    const dt = (b.t - a.t) / 1000;
    const d = b.d ?? 0;
    const silent = dt > this.rules.gapSeconds;
    const derived = dt > 0 && !silent ? (d / dt) * 3.6 : null;
    const v = a.speed ?? derived;
    if (silent) {
      row.gapS += dt;
      row.gapDistanceM += d;
    } else {
      if (b.ignition !== false && (b.speed ?? derived ?? 0) >= min) row.distanceM += d;
      if (v !== null && v >= min && a.ignition !== false) {
        row.movingS += dt;
        row.movingSpeedS += v * dt;
      }
      if (a.ignition === true && (v ?? 0) < min) row.idleS += dt;
    }
    raise(row, v);
  }

  /** Ends the open day: its last fix, with no next in the day, counts with its reported speed. */
  private close(v: Open): void {
    const { row, prev } = v;
    if (row === null) return;
    raise(row, prev?.speed ?? null);
    this.rows.push(row);
    v.row = null;
  }
}

/** The day's maximum speed, with a speed that may be unknown (null: left out, as SQL's max). */
function raise(row: DayAppend, v: number | null): void {
  if (v !== null) row.maxSpeedKmh = row.maxSpeedKmh === null ? v : Math.max(row.maxSpeedKmh, v);
}
