export interface RateLimitOptions {
  /** tokens added per second */
  ratePerSecond: number;
  /** tokens a quiet key has saved up */
  burst: number;
  /** the longest delay handed out; keeps a held PUBACK below the keepalive. A reservation that would wait longer is refused. */
  maxDelayMs: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per key (a vehicle): `reserve` takes `cost` tokens (a message's fixes) and answers
 * how long the caller must wait before acting. Tokens may go negative (a debt), so the packets of
 * one socket chunk, all handled at once by Aedes, are spaced apart in arrival order instead of all
 * waiting for the same refill. A reservation that would wait longer than `maxDelayMs` is refused and
 * takes nothing: the debt, and so the rate, stays bounded however many messages arrive at once.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;
  /** reservations that had to wait */
  delayed = 0;

  constructor(private readonly o: RateLimitOptions) {
    this.now = o.now ?? Date.now;
    // a full bucket carries no information: forget it (bounded memory for a fleet of idle devices)
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  /** Takes `cost` tokens for `key`; returns the milliseconds to wait first (0 = go now), or undefined: refused. */
  reserve(key: string, cost = 1): number | undefined {
    const now = this.now();
    const b = this.refill(key, now);
    const left = b.tokens - cost;
    if (left >= 0) {
      b.tokens = left;
      return 0;
    }
    const wait = (-left * 1000) / this.o.ratePerSecond;
    // a longer wait would hold a PUBACK close to the device's keepalive, and an unbounded debt
    // would let the messages of many sockets through at once
    if (wait > this.o.maxDelayMs) return undefined;
    b.tokens = left;
    this.delayed++;
    return wait;
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private refill(key: string, now: number): Bucket {
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.o.burst, at: now };
      this.buckets.set(key, b);
      return b;
    }
    b.tokens = Math.min(this.o.burst, b.tokens + ((now - b.at) * this.o.ratePerSecond) / 1000);
    b.at = now;
    return b;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) * this.o.ratePerSecond) / 1000 >= this.o.burst) this.buckets.delete(key);
    }
  }
}

/** A message past its device's rate limit by more than the longest delay: no PUBACK, the connection is closed, the device resends later. */
export class RateLimitedError extends Error {
  override name = "RateLimitedError";
}
