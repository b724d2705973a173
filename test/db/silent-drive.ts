import type pg from "pg";
import type { Fix } from "../../core/fix.ts";
import { fix, metresPerDegreeLat, noonDaysAgo } from "./harness.ts";

export const S = 1000;
// yesterday 12:00 UTC (16:00 in Dubai): the drive stays inside one fleet day
export const T0 = noonDaysAgo(1);
export const STEP_M = (85 / 3.6) * 30; // 85 km/h for 30 s
const STEP = STEP_M / metresPerDegreeLat(25.1);
export const JUMP_M = 20_000; // where the truck reappears after its tracker was off
const JUMP = JUMP_M / metresPerDegreeLat(25.2);

/**
 * A truck at 85 km/h whose tracker is off for 40 minutes (seconds from T0, a fix every 30 s):
 *   0            ignition on, standing
 *   30 … 600     driving north, 85 km/h
 *   600 → 3000   silence (40 min); the truck drove on meanwhile and reappears 20 km farther
 *   3000 … 3600  driving north, 85 km/h
 *   3630         standing; 3660 ignition off
 * `speed: false` sends no speed at all (the worker derives it from distance and time).
 */
export function silentDrive(vehicleId: string, withSpeed = true): Fix[] {
  const out: Fix[] = [];
  let lat = 25.1;
  const at = (s: number, speed: number, ignition: boolean) =>
    out.push(fix(vehicleId, T0 + s * S, lat, 55.1, { ...(withSpeed ? { speed } : {}), ignition }));
  at(0, 0, true);
  for (let s = 30; s <= 600; s += 30) {
    lat += STEP;
    at(s, 85, true);
  }
  lat += JUMP;
  at(3000, 85, true);
  for (let s = 3030; s <= 3600; s += 30) {
    lat += STEP;
    at(s, 85, true);
  }
  at(3630, 0, true);
  at(3660, 0, false);
  return out;
}

/**
 * A truck parked when its tracker fell silent, found 5 km away after it (seconds from T0):
 *   0            ignition on, standing; 30 … 300 driving north, 85 km/h; 330 ignition off
 *   360 … 600    parked, ignition off
 *   600 → 3000   silence; it was driven meanwhile, the tracker off
 *   3000 … 3300  parked 5 km farther, ignition off
 *   3330 … 3600  driving north; 3630 ignition off
 */
export function movedWhileSilent(vehicleId: string): Fix[] {
  const out: Fix[] = [];
  let lat = 25.3;
  const at = (s: number, speed: number, ignition: boolean) =>
    out.push(fix(vehicleId, T0 + s * S, lat, 55.3, { speed, ignition }));
  const drive = (from: number, to: number) => {
    for (let s = from; s <= to; s += 30) {
      lat += STEP;
      at(s, 85, true);
    }
  };
  at(0, 0, true);
  drive(30, 300);
  for (let s = 330; s <= 600; s += 30) at(s, 0, false);
  lat += 5000 / metresPerDegreeLat(25.3);
  for (let s = 3000; s <= 3300; s += 30) at(s, 0, false);
  drive(3330, 3600);
  at(3630, 0, false);
  return out;
}

const SPANS = {
  trips: "SELECT started_at, ended_at FROM trips WHERE vehicle_id = $1 ORDER BY started_at",
  stops: "SELECT started_at, ended_at FROM stops WHERE vehicle_id = $1 ORDER BY started_at",
};

/** [start, end] of the vehicle's trips or stops, in seconds from T0. */
export async function spans(
  pool: pg.Pool,
  table: keyof typeof SPANS,
  vehicleId: string,
): Promise<number[][]> {
  const r = await pool.query<{ started_at: Date; ended_at: Date }>(SPANS[table], [vehicleId]);
  return r.rows.map((x) => [(x.started_at.getTime() - T0) / S, (x.ended_at.getTime() - T0) / S]);
}
