import type { LivePosition } from "../core/live-state.ts";

/**
 * A position whose fix is older than STALE_AFTER_SECONDS is stale: its speed and heading are
 * last known, not current, and a client shows it as where the vehicle was last seen. Marked at
 * the moment of answering, the same rule for /api/positions and every /ws message.
 */
export function markStale(
  positions: LivePosition[],
  staleAfterMs: number,
  now = Date.now(),
): (LivePosition & { stale: boolean })[] {
  return positions.map((p) => ({ ...p, stale: now - p.recordedAt > staleAfterMs }));
}
