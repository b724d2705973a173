import type { LivePosition } from "./api.ts";

/**
 * What a vehicle is doing, from its newest fix: the one rule the list, the map markers, the
 * legend and the details share (and so one colour per state everywhere).
 */
export type VehicleState = "moving" | "idle" | "stopped" | "offline";

export const STATES: readonly VehicleState[] = ["moving", "idle", "stopped", "offline"];

export const STATE_COLORS: Record<VehicleState, string> = {
  moving: "#2e7d32",
  idle: "#ef8f00",
  stopped: "#c62828",
  offline: "#9e9e9e",
};

export const STATE_LABELS: Record<VehicleState, string> = {
  moving: "Moving",
  idle: "Idle (engine on)",
  stopped: "Stopped",
  offline: "Offline (last known)",
};

export interface StateRule {
  /** STALE_AFTER_SECONDS in ms: a fix older than this is where the vehicle was last seen */
  staleMs: number;
  /** MOVING_SPEED_KMH: the worker's threshold for trips and moving time */
  movingKmh: number;
}

/**
 * Offline: no fix, or the newest is older than the stale limit (the API's `stale` flag says so
 * when it was sent; time alone makes it stale later). Moving: at or above the moving speed.
 * Idle: standing with the ignition on. Stopped: standing with it off or not reported.
 */
export function stateOf(p: LivePosition | null | undefined, now: number, rule: StateRule): VehicleState {
  if (!p || p.stale === true || now - p.recordedAt > rule.staleMs) return "offline";
  if ((p.speed ?? 0) >= rule.movingKmh) return "moving";
  return p.ignition === true ? "idle" : "stopped";
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/** Natural order: truck-2 before truck-10. */
export const naturalCompare = (a: string, b: string): number => collator.compare(a, b) || (a < b ? -1 : 1);
