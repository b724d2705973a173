import { HeldLimit } from "./held-limit.ts";
import { RateLimiter } from "./rate-limit.ts";

export interface IngestAdmissionOptions {
  /** DEVICE_RATE_LIMIT, DEVICE_RATE_BURST */
  ratePerSecond: number;
  burst: number;
  /** MQTT_MAX_HELD_PER_CONNECTION, MQTT_MAX_HELD */
  perConnection: number;
  total: number;
  holdCapMs: number;
}

export type IngestAdmission = ReturnType<typeof createIngestAdmission>;

/**
 * What an ingest publish waits for before it enters the bridge, in this order:
 *   1. the device's rate limit  → its PUBACK is delayed (never dropped) by up to half the hold cap
 *   2. the held ceilings        → per connection, then in total (held-limit.ts)
 * Every wait keeps the packet's callback held, so Aedes does not read that socket meanwhile.
 */
export function createIngestAdmission(o: IngestAdmissionOptions) {
  const rate = new RateLimiter({
    ratePerSecond: o.ratePerSecond,
    burst: o.burst,
    maxDelayMs: Math.floor(o.holdCapMs / 2),
  });
  const held = new HeldLimit({ perConnection: o.perConnection, total: o.total, holdCapMs: o.holdCapMs });

  return {
    /** Resolves with the release to call once the message has settled (PUBACK or refusal). */
    async admit(connection: object, vehicleId: string, receivedAt: number): Promise<() => void> {
      const wait = rate.reserve(vehicleId);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      return held.acquire(connection, receivedAt);
    },
    stats: () => ({ held: held.held, waiting: held.waiting, rateDelayed: rate.delayed }),
    heldBy: (connection: object) => held.heldBy(connection),
    close(): void {
      rate.close();
      held.close();
    },
  };
}
