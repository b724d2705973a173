import type { HoldCap, Unwatch } from "../../bridge/hold-cap.ts";
import { HoldCapError } from "../../core/errors.ts";

export interface HeldLimitOptions {
  /** messages of one connection in the bridge at once */
  perConnection: number;
  /** messages of all connections in the bridge at once */
  total: number;
  /** a message waiting past the cap (from its receipt) is refused like a held one */
  holdCap: HoldCap;
}

type Release = () => void;

interface Waiter {
  conn: Connection;
  unwatch: Unwatch;
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
 * A message that waited past the hold cap (from its receipt; the HoldCap decides) is refused with
 * HoldCapError: the connection is closed without PUBACK and the device resends, as for a message
 * held in the bridge.
 */
export class HeldLimit {
  private heldTotal = 0;
  private waitingCount = 0;
  private readonly conns = new Map<object, Connection>();
  private forTotal: Waiter[] = [];
  /** connections that lost a waiter to the hold cap, granted anew once the cap's sweep is over */
  private readonly expiredIn = new Set<Connection>();

  constructor(private readonly o: HeldLimitOptions) {}

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

  private wait(conn: Connection, since: number, stage: "conn" | "total"): Promise<Release> {
    return new Promise<Release>((resolve, reject) => {
      const w: Waiter = { conn, stage, resolve, reject, unwatch: noop };
      w.unwatch = this.o.holdCap.watch(since, () => this.expire(w));
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
      w.unwatch();
      this.waitingCount--;
      this.heldTotal++;
      w.resolve(this.releaser(w.conn));
    }
    if (conn.held === 0 && conn.waiting.length === 0) this.conns.delete(conn.key);
  }

  private expire(w: Waiter): void {
    if (w.stage === "done") return;
    if (w.stage === "total") w.conn.held--;
    w.stage = "done";
    this.waitingCount--;
    w.reject(new HoldCapError(`message waited ${this.o.holdCap.ms} ms for a slot in the bridge`));
    // the freed slots are granted after the whole sweep: not to a waiter it is about to refuse
    if (this.expiredIn.size === 0) queueMicrotask(() => this.afterExpiry());
    this.expiredIn.add(w.conn);
  }

  private afterExpiry(): void {
    this.forTotal = this.forTotal.filter((w) => w.stage !== "done");
    const conns = [...this.expiredIn];
    this.expiredIn.clear();
    for (const c of conns) c.waiting = c.waiting.filter((w) => w.stage !== "done");
    for (const c of conns) this.grant(c);
  }
}

function noop(): void {}
