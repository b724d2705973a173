import { HoldCapError } from "../../bridge/batcher.ts";

export interface HeldLimitOptions {
  /** messages of one connection in the bridge at once */
  perConnection: number;
  /** messages of all connections in the bridge at once */
  total: number;
  /** a message waiting longer than this (from its receipt) is refused like a held one */
  holdCapMs: number;
  now?: () => number;
}

type Release = () => void;

interface Waiter {
  conn: Connection;
  since: number;
  /** "conn": waits for a slot of its connection; "total": has one, waits for a slot overall */
  stage: "conn" | "total" | "done";
  resolve: (release: Release) => void;
  reject: (err: Error) => void;
}

interface Connection {
  key: object;
  held: number;
  waiting: Waiter[];
}

/**
 * Ceilings on the messages the bridge holds (their PUBACKs waiting for the queue): per connection
 * and in total. A message above a ceiling waits here, before the bridge, with its callback held;
 * since Aedes reads a socket's next chunk only after every packet of the current one has called
 * back, a waiting message also stops its socket from being read, so what waits is bounded by one
 * socket chunk per connection and nothing grows without bound. Slots are granted in arrival order.
 * A message that waited past the hold cap (from its receipt) is refused with HoldCapError: the
 * connection is closed without PUBACK and the device resends, as for a message held in the bridge.
 */
export class HeldLimit {
  private heldTotal = 0;
  private waitingCount = 0;
  private readonly conns = new Map<object, Connection>();
  private readonly forTotal: Waiter[] = [];
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly o: HeldLimitOptions) {
    this.now = o.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), Math.min(1000, o.holdCapMs / 4));
    this.sweeper.unref();
  }

  /** messages admitted and not yet released */
  get held(): number {
    return this.heldTotal;
  }

  /** messages waiting for a slot */
  get waiting(): number {
    return this.waitingCount;
  }

  /** messages of this connection admitted and not yet released */
  heldBy(key: object): number {
    return this.conns.get(key)?.held ?? 0;
  }

  /** Resolves with the release to call once the message has settled; `since` is its receipt. */
  acquire(key: object, since: number): Promise<Release> {
    let conn = this.conns.get(key);
    if (!conn) {
      conn = { key, held: 0, waiting: [] };
      this.conns.set(key, conn);
    }
    const c = conn;
    if (c.held < this.o.perConnection && c.waiting.length === 0) {
      c.held++;
      if (this.heldTotal < this.o.total && this.forTotal.length === 0) {
        this.heldTotal++;
        return Promise.resolve(this.releaser(c));
      }
      return this.wait(c, since, "total");
    }
    return this.wait(c, since, "conn");
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private wait(conn: Connection, since: number, stage: "conn" | "total"): Promise<Release> {
    return new Promise<Release>((resolve, reject) => {
      const w: Waiter = { conn, since, stage, resolve, reject };
      this.waitingCount++;
      if (stage === "conn") conn.waiting.push(w);
      else this.forTotal.push(w);
    });
  }

  private releaser(conn: Connection): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.heldTotal--;
      conn.held--;
      this.grant(conn);
    };
  }

  /** Hands freed slots to the oldest waiters: first a connection slot, then slots overall. */
  private grant(conn: Connection): void {
    while (conn.held < this.o.perConnection && conn.waiting.length > 0) {
      const w = conn.waiting.shift() as Waiter;
      if (w.stage === "done") continue;
      conn.held++;
      w.stage = "total";
      this.forTotal.push(w);
    }
    while (this.heldTotal < this.o.total && this.forTotal.length > 0) {
      const w = this.forTotal.shift() as Waiter;
      if (w.stage === "done") continue;
      w.stage = "done";
      this.waitingCount--;
      this.heldTotal++;
      w.resolve(this.releaser(w.conn));
    }
    if (conn.held === 0 && conn.waiting.length === 0) this.conns.delete(conn.key);
  }

  private sweep(): void {
    const limit = this.now() - this.o.holdCapMs;
    const touched = new Set<Connection>();
    const expire = (w: Waiter) => {
      if (w.stage === "done" || w.since > limit) return false;
      if (w.stage === "total") {
        w.conn.held--;
        touched.add(w.conn);
      }
      w.stage = "done";
      this.waitingCount--;
      w.reject(new HoldCapError(`message waited ${this.o.holdCapMs} ms for a slot in the bridge`));
      return true;
    };
    for (const w of this.forTotal) expire(w);
    for (const c of this.conns.values()) {
      for (const w of c.waiting) expire(w);
      c.waiting = c.waiting.filter((w) => w.stage !== "done");
    }
    let kept = 0;
    for (const w of this.forTotal) if (w.stage !== "done") this.forTotal[kept++] = w;
    this.forTotal.length = kept;
    for (const c of touched) this.grant(c);
  }
}
