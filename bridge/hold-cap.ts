import type { Logger } from "../core/logger.ts";

/** Stops watching a held message: it settled (PUBACK, refusal) before the cap. */
export type Unwatch = () => void;

export interface HoldCapOptions {
  /** HOLD_CAP_MS */
  ms: number;
  log: Logger;
  now?: () => number;
}

interface Watched {
  since: number;
  expire: () => void;
}

/**
 * The hold cap of a process: the longest a message's answer (a PUBACK, an HTTP response) is held
 * while the message waits, for a slot before the bridge (broker/limits/held-limit.ts) or for the
 * queue inside it (batcher.ts). Each holder watches its messages here; one timer finds those held
 * past the cap and calls their `expire`, with which the holder refuses them with HoldCapError
 * (bridge/batcher.ts): the connection is closed without PUBACK before the device's keepalive
 * runs out, and the device resends. The batcher creates it; the broker's admission shares it.
 */
export class HoldCap {
  readonly ms: number;
  private readonly watched = new Set<Watched>();
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly o: HoldCapOptions) {
    this.ms = o.ms;
    this.now = o.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), Math.min(1000, o.ms / 4));
    this.sweeper.unref();
  }

  /** Watches a message held since `since`; `expire` is called once if it is still held at the cap. */
  watch(since: number, expire: () => void): Unwatch {
    const w: Watched = { since, expire };
    this.watched.add(w);
    return () => {
      this.watched.delete(w);
    };
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const limit = this.now() - this.ms;
    const overdue: Watched[] = [];
    for (const w of this.watched) if (w.since <= limit) overdue.push(w);
    if (overdue.length === 0) return;
    for (const w of overdue) this.watched.delete(w);
    for (const w of overdue) w.expire();
    this.o.log.error({ released: overdue.length }, "hold cap reached: closing connections without PUBACK");
  }
}
