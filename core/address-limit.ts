export interface AddressLimitOptions {
  /** tokens (connections, refusals …) given back per second to one address */
  ratePerSecond: number;
  /** the bucket's size: what a quiet address may spend at once (default one second's worth) */
  burst?: number;
  /** addresses remembered at once; the least recently seen is forgotten first */
  maxAddresses: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
  /** refused since the bucket was last full: the first refusal of a flood is reported, once */
  refusing: boolean;
}

/**
 * A token bucket per source address, in a map of at most `maxAddresses`: an attacker spraying
 * addresses cannot grow it without bound. Forgetting an address gives it a full bucket again,
 * which is what a quiet address has anyway; one that floods stays recent and so remembered, and
 * a global limit (the broker's connect rate, broker/limits/connect-limit.ts) still bounds what
 * many addresses can do together. The broker takes a token per CONNECT; the OsmAnd listener
 * (api/osmand-listener.ts) one per refused device key, and asks `allows` before a lookup.
 */
export class AddressLimit {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private readonly burst: number;

  constructor(private readonly o: AddressLimitOptions) {
    this.now = o.now ?? Date.now;
    this.burst = o.burst ?? o.ratePerSecond;
  }

  /** Whether `address` has a token left now, without taking it (nor refreshing its place). */
  allows(address: string): boolean {
    const b = this.buckets.get(address);
    if (!b) return true;
    return b.tokens + ((this.now() - b.at) * this.o.ratePerSecond) / 1000 >= 1;
  }

  get size(): number {
    return this.buckets.size;
  }

  /**
   * Takes a token for `address`: "ok", "refused", or "first-refusal" for the first refusal since
   * its bucket was last full (worth a log line; the rest of the flood is only counted).
   */
  take(address: string): "ok" | "refused" | "first-refusal" {
    const t = this.now();
    let b = this.buckets.get(address);
    if (b) {
      // re-inserted: the map's order is the order of last use, oldest first
      this.buckets.delete(address);
      b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) * this.o.ratePerSecond) / 1000);
      b.at = t;
      // full again: the address was quiet for a while, a new flood is worth a new report
      if (b.tokens >= this.burst) b.refusing = false;
    } else {
      if (this.buckets.size >= this.o.maxAddresses)
        this.buckets.delete(this.buckets.keys().next().value as string);
      b = { tokens: this.burst, at: t, refusing: false };
    }
    this.buckets.set(address, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return "ok";
    }
    if (b.refusing) return "refused";
    b.refusing = true;
    return "first-refusal";
  }

  /** Gives back the token of a connect refused further on (by the global rate). */
  refund(address: string): void {
    const b = this.buckets.get(address);
    if (b) b.tokens = Math.min(this.burst, b.tokens + 1);
  }
}
