import type { LivePosition } from "./api.ts";

type Listener = () => void;

/**
 * The live positions the map shows, outside React state: the canvas layer reads it on every
 * frame it draws, and React components read it through `version` (useSyncExternalStore) at
 * their own pace, so 5,000 moving vehicles never re-render a component tree per update.
 */
export class FleetStore {
  readonly positions = new Map<string, LivePosition>();
  /** presence changes heard on /ws since the page opened (the REST list has the state before) */
  readonly presence = new Map<string, { online: boolean; at: number }>();
  version = 0;
  /** positions applied so far, snapshots included (the frame-rate benchmark reports the rate) */
  applied = 0;
  private readonly listeners = new Set<Listener>();

  subscribe = (fn: Listener): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getVersion = (): number => this.version;

  /**
   * One animation frame's worth of messages: the newest snapshot (if any) replaces everything,
   * then deltas newer than what is held. Listeners hear about it once.
   */
  apply(snapshot: LivePosition[] | undefined, deltas: Iterable<LivePosition>): void {
    if (snapshot) {
      this.positions.clear();
      for (const p of snapshot) this.positions.set(p.vehicleId, p);
      this.applied += snapshot.length;
    }
    for (const p of deltas) {
      const cur = this.positions.get(p.vehicleId);
      // the server coalesces and never goes back in time; this guards a delta racing a snapshot
      if (!cur || cur.recordedAt <= p.recordedAt) this.positions.set(p.vehicleId, p);
      this.applied++;
    }
    this.version++;
    for (const fn of this.listeners) fn();
  }

  /** Presence changes from /ws: the newest per vehicle is kept. */
  applyPresence(changes: Iterable<{ vehicleId: string; online: boolean; at: number }>): void {
    for (const c of changes) {
      const cur = this.presence.get(c.vehicleId);
      if (!cur || cur.at <= c.at) this.presence.set(c.vehicleId, { online: c.online, at: c.at });
    }
    this.version++;
    for (const fn of this.listeners) fn();
  }
}
