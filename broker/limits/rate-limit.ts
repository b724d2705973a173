export interface RateLimitOptions {
  /** tokens added per second */
  ratePerSecond: number;
  /** tokens a quiet key has saved up */
  burst: number;
  /** the longest delay handed out; keeps a held PUBACK below the keepalive */
  maxDelayMs: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per key (a vehicle) that never refuses: `reserve` takes a token and answers how
 * long the caller must wait before acting. Tokens may go negative (a debt), so the packets of one
 * socket chunk, all handled at once by Aedes, are spaced 1/rate apart in arrival order instead of
 * all waiting for the same refill.
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

  /** Takes one token for `key`; returns the milliseconds to wait first (0 = go now). */
  reserve(key: string): number {
    const now = this.now();
    const b = this.refill(key, now);
    b.tokens -= 1;
    if (b.tokens >= 0) return 0;
    this.delayed++;
    const wait = (-b.tokens * 1000) / this.o.ratePerSecond;
    if (wait <= this.o.maxDelayMs) return wait;
    // a debt beyond the cap is not carried: the rate is then exceeded, but no PUBACK is held
    // long enough for the device's keepalive to expire
    b.tokens = -(this.o.maxDelayMs * this.o.ratePerSecond) / 1000;
    return this.o.maxDelayMs;
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
