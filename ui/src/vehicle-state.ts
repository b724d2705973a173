import type { LivePosition } from "./api.ts";

/**
 * What a vehicle is doing, from its presence and newest fix: the one rule the list, the map
 * markers, the legend and the details share (and so one colour per state everywhere). Two states
 * show where it was last seen: `offline` (its connection is gone: presence) and `stale` (connected
 * or not known, but no fix for STALE_AFTER_SECONDS).
 */
export type VehicleState = "moving" | "idle" | "stopped" | "stale" | "offline";

export const STATES: readonly VehicleState[] = ["moving", "idle", "stopped", "stale", "offline"];

export const STATE_COLORS: Record<VehicleState, string> = {
  moving: "#2e7d32",
  idle: "#ef8f00",
  stopped: "#c62828",
  stale: "#9e9e9e",
  offline: "#455a64",
};

export const STATE_LABELS: Record<VehicleState, string> = {
  moving: "Moving",
  idle: "Idle (engine on)",
  stopped: "Stopped",
  stale: "No recent fix (last known)",
  offline: "Offline (disconnected, last known)",
};

/** Drawn hollow: the vehicle is not known to be there now. */
export const isLastKnown = (s: VehicleState): boolean => s === "stale" || s === "offline";

export interface StateRule {
  /** STALE_AFTER_SECONDS in ms: a fix older than this is where the vehicle was last seen */
  staleMs: number;
  /** MOVING_SPEED_KMH: the worker's threshold for trips and moving time */
  movingKmh: number;
}

/**
 * Offline: presence says its connection is gone (whatever its last fix said: a vehicle that
 * disconnected at 30 km/h is not moving now). Stale: no fix, or the newest is older than the stale
 * limit (the API's `stale` flag says so when it was sent; time alone makes it stale later).
 * Moving: at or above the moving speed. Idle: standing with the ignition on. Stopped: standing
 * with it off or not reported. `online` null: presence unknown (HTTP-only vehicles).
 */
export function stateOf(
  p: LivePosition | null | undefined,
  now: number,
  rule: StateRule,
  online?: boolean | null,
): VehicleState {
  if (online === false) return "offline";
  if (!p || p.stale === true || now - p.recordedAt > rule.staleMs) return "stale";
  if ((p.speed ?? 0) >= rule.movingKmh) return "moving";
  return p.ignition === true ? "idle" : "stopped";
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/** Natural order: truck-2 before truck-10. */
export const naturalCompare = (a: string, b: string): number => collator.compare(a, b) || (a < b ? -1 : 1);
