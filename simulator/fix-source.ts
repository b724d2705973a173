import type { SimFix } from "./payloads.ts";
import type { OutgoingMessage } from "./reporter.ts";
import type { FixSourceOptions, FleetCounters, FleetHooks } from "./tracker.ts";

export type { FixSourceOptions } from "./tracker.ts";

/** A truck's fixes on its schedule, whatever carries them (MQTT, Teltonika TCP, OsmAnd HTTP). */
export class FixSource {
  private seq = 0;

  constructor(private readonly o: FixSourceOptions) {}

  /** wall-clock time the next fix is due */
  get nextDueAt(): number {
    return this.recordedAt(this.seq);
  }

  /** Drives the truck on and reads its next fix (counted, and shown to the hooks). */
  next(): SimFix {
    const o = this.o;
    if (this.seq > 0) o.truck.advance(o.intervalMs / 1000);
    const fix: SimFix = {
      vehicleId: o.vehicleId,
      recordedAt: this.recordedAt(this.seq),
      messageId: `${o.vehicleId}-${this.seq}`,
      reading: o.truck.read(),
    };
    this.seq++;
    o.counters.generated++;
    o.hooks.onFix?.(fix);
    return fix;
  }

  private recordedAt(k: number): number {
    const t = this.o.firstAt + k * this.o.intervalMs;
    return this.o.wholeSeconds ? Math.floor(t / 1000) * 1000 : Math.round(t);
  }
}

export type SendOutcome = { ok: true } | { ok: false; error: Error } | { ok: "rejected"; detail: string };

/**
 * Counts one message from send to outcome, the same for every transport: sent (or duplicates)
 * at once, then acknowledged, failed, or rejected by the platform. Returns the outcome's callback.
 */
export function accountSend(
  vehicleId: string,
  counters: FleetCounters,
  hooks: FleetHooks,
  msg: OutgoingMessage,
): (outcome: SendOutcome) => void {
  const n = msg.fixes.length;
  if (msg.kind === "duplicate") counters.duplicates += n;
  else counters.sent += n;
  // a store-and-forward upload: a /locations array, or an AVL packet of the backlog
  if (msg.kind === "backlog" && (msg.topic.endsWith("/locations") || msg.topic.endsWith("/data")))
    counters.batches++;
  hooks.onMessage?.(msg);
  counters.inflight++;
  return (outcome) => {
    counters.inflight--;
    if (outcome.ok === false) {
      counters.publishErrors++;
      hooks.onError?.(vehicleId, outcome.error);
      return;
    }
    if (outcome.ok === "rejected") {
      counters.rejected++;
      hooks.onReject?.(vehicleId, outcome.detail);
      return;
    }
    counters.messagesAcked++;
    if (msg.kind !== "duplicate") counters.acked += n;
    hooks.onAck?.(msg);
  };
}

/** ±25 %: devices dropped together (a restart) do not all come back in the same instant */
export function jitter(ms: number): number {
  return Math.round(ms * (0.75 + Math.random() * 0.5));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
