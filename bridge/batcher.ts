import { randomUUID } from "node:crypto";
import { HoldCapError } from "../core/errors.ts";
import type { Fix } from "../core/fix.ts";
import type { Logger } from "../core/logger.ts";
import type { BatchJob } from "../core/queues.ts";
import type { Reject } from "../core/reject-reasons.ts";
import { HoldCap, type Unwatch } from "./hold-cap.ts";

/** Puts one sealed batch into the queue durably (BullMQ add with jobId = batch id). */
export type Enqueue = (batchId: string, job: BatchJob) => Promise<void>;

/** Thrown to callers still waiting when the batcher is closed. */
export class BatcherClosedError extends Error {
  override name = "BatcherClosedError";
}

interface Entry {
  fixes: Fix[];
  rejects: Reject[];
  /** when it was added */
  at: number;
  settled: boolean;
  unwatch: Unwatch;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Batch {
  id: string;
  entries: Entry[];
  size: number;
  /** an enqueue was tried with this id: its content may be in the queue, so it never changes again */
  attempted: boolean;
}

/** Sealed batches waiting behind a slow enqueue are merged into one job of up to this many BATCH_SIZEs. */
const MERGE_FACTOR = 4;

export interface BatcherOptions {
  size: number;
  ms: number;
  holdCapMs: number;
  enqueue: Enqueue;
  /** called after a batch is durably queued, before its callers are released */
  onQueued?: (batchId: string, job: BatchJob) => void;
  log: Logger;
  now?: () => number;
}

/**
 * Collects the fixes and rejects of many messages into one job, flushed every `size` items or
 * `ms` milliseconds (like Traccar's PositionBatchWriter): each caller awaits its own promise,
 * resolved only after the batch is in the queue. Sealed batches are enqueued one at a time, in
 * order; a failed enqueue is retried with backoff while the callers stay held, and a caller held
 * past `holdCapMs` is released with HoldCapError (its device will resend) and leaves the batch.
 * That cap is the process's one HoldCap (hold-cap.ts), created here and shared through `holdCap`.
 *
 * Batches sealed while an enqueue is in flight wait; when it returns they go out merged (up to
 * MERGE_FACTOR x `size`), never yet tried ones only, so the batch adapts to the enqueue's latency:
 * with one job per 20 ms flush and a BullMQ add taking longer than 20 ms under load, a queue of
 * sealed batches would otherwise grow without bound and every PUBACK with it.
 */
export class Batcher {
  private open: Batch = newBatch();
  private readonly sealed: Batch[] = [];
  private timer: NodeJS.Timeout | undefined;
  private draining = false;
  private closed = false;
  /** watches every caller held here; the broker's admission watches its waiting messages with it too */
  readonly holdCap: HoldCap;
  private readonly now: () => number;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  constructor(private readonly opts: BatcherOptions) {
    this.now = opts.now ?? Date.now;
    this.holdCap = new HoldCap({ ms: opts.holdCapMs, now: this.now, log: opts.log });
  }

  /** Number of messages waiting for their batch to be queued. */
  get held(): number {
    let n = this.open.entries.length;
    for (const b of this.sealed) n += b.entries.length;
    return n;
  }

  /** When the oldest message still held was added; undefined when none is held. */
  get oldestHeldAt(): number | undefined {
    for (const b of this.sealed) for (const e of b.entries) if (!e.settled) return e.at;
    for (const e of this.open.entries) if (!e.settled) return e.at;
    return undefined;
  }

  add(fixes: Fix[], rejects: Reject[]): Promise<void> {
    if (this.closed) return Promise.reject(new BatcherClosedError("bridge is closing"));
    return new Promise<void>((resolve, reject) => {
      const batch = this.open;
      const at = this.now();
      const entry: Entry = { fixes, rejects, at, settled: false, unwatch: noop, resolve, reject };
      // released at the cap so that Aedes closes the connection before the keepalive runs out
      entry.unwatch = this.holdCap.watch(at, () =>
        settle(entry, new HoldCapError(`message held ${this.opts.holdCapMs} ms without reaching the queue`)),
      );
      batch.entries.push(entry);
      batch.size += fixes.length + rejects.length;
      if (batch.size >= this.opts.size) this.seal();
      else if (!this.timer) this.timer = setTimeout(this.sealOnTimer, this.opts.ms);
    });
  }

  /** Seals the open batch and waits until every sealed batch is queued (or its callers released). */
  async flush(): Promise<void> {
    this.seal();
    await this.idle;
  }

  /** Flushes what is held, then refuses new messages. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.holdCap.close();
  }

  /**
   * The flush timer's callback: it forgets the timer before sealing, so that seal does not clear a
   * timer that is firing (Node then drops and rebuilds its timer list of that duration, per batch).
   */
  private readonly sealOnTimer = () => {
    this.timer = undefined;
    this.seal();
  };

  private seal(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.open.entries.length === 0) return;
    this.sealed.push(this.open);
    this.open = newBatch();
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    this.idle = new Promise((r) => {
      this.markIdle = r;
    });
    let failures = 0;
    while (this.sealed.length > 0) {
      this.mergeWaiting();
      const batch = this.sealed[0] as Batch;
      batch.entries = batch.entries.filter((e) => !e.settled);
      if (batch.entries.length === 0) {
        this.sealed.shift();
        continue;
      }
      batch.attempted = true;
      const job = toJob(batch, this.now());
      try {
        await this.opts.enqueue(batch.id, job);
      } catch (err) {
        failures++;
        const wait = Math.min(2000, 50 * 2 ** Math.min(failures, 6));
        this.opts.log.warn(
          { err, batchId: batch.id, held: this.held, retryInMs: wait },
          "enqueue failed; PUBACKs held",
        );
        await sleep(wait);
        continue;
      }
      failures = 0;
      this.sealed.shift();
      try {
        this.opts.onQueued?.(batch.id, job);
      } catch (err) {
        this.opts.log.error({ err, batchId: batch.id }, "onQueued failed");
      }
      for (const e of batch.entries) settle(e);
    }
    this.draining = false;
    this.markIdle();
  }

  /** Merges the untried sealed batches at the head of the line into the first, up to the cap. */
  private mergeWaiting(): void {
    const first = this.sealed[0];
    if (!first || first.attempted) return;
    const cap = this.opts.size * MERGE_FACTOR;
    while (this.sealed.length > 1) {
      const next = this.sealed[1] as Batch;
      if (next.attempted || first.size + next.size > cap) break;
      first.entries.push(...next.entries);
      first.size += next.size;
      this.sealed.splice(1, 1);
    }
  }
}

function newBatch(): Batch {
  return { id: randomUUID(), entries: [], size: 0, attempted: false };
}

function toJob(batch: Batch, sealedAt: number): BatchJob {
  const fixes: Fix[] = [];
  const rejects: Reject[] = [];
  for (const e of batch.entries) {
    for (const f of e.fixes) fixes.push(f);
    for (const r of e.rejects) rejects.push(r);
  }
  return { fixes, rejects, sealedAt };
}

function settle(e: Entry, err?: Error): void {
  if (e.settled) return;
  e.settled = true;
  e.unwatch();
  if (err) e.reject(err);
  else e.resolve();
}

function noop(): void {}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
