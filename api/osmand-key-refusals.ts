import { addressKey } from "../core/address-key.ts";
import { AddressLimit } from "../core/address-limit.ts";
import type { Logger } from "../core/logger.ts";

/**
 * Source addresses whose refusals are remembered at once: a bucket refills within a minute, so
 * this holds the addresses of the last minute that sent a wrong key; ~10 MB at most. Past it the
 * least recent is forgotten (core/address-limit.ts).
 */
export const MAX_REFUSING_ADDRESSES = 50_000;
/** one warning at most this often, with the count of addresses limited since the last */
const WARN_EVERY_MS = 10_000;

export interface KeyRefusalLimitOptions {
  /** refused device keys a minute from one address (OSMAND_KEY_REFUSALS_PER_MINUTE), also the burst */
  perMinute: number;
  log: Logger;
  now?: () => number;
}

/**
 * A device key is the whole credential of an OsmAnd device, and 128 random bits are not guessed;
 * but every guess would cost a PostgreSQL lookup and a cached miss. So each source address (an
 * IPv6 /64 as one, core/address-key.ts) may have `perMinute` keys refused a minute, as a token
 * bucket: past them its requests are answered 429 before any lookup, unless their key is one this
 * process already knows (a phone behind the same carrier NAT as the guesser keeps working).
 */
export function createKeyRefusalLimit(o: KeyRefusalLimitOptions) {
  const now = o.now ?? Date.now;
  const limit = new AddressLimit({
    ratePerSecond: o.perMinute / 60,
    burst: o.perMinute,
    maxAddresses: MAX_REFUSING_ADDRESSES,
    now,
  });
  let limitedSinceWarn = 0;
  let warnedAt = Number.NEGATIVE_INFINITY;

  return {
    /** seconds until a limited address has a refusal to spend again */
    retryAfterSeconds: Math.ceil(60 / o.perMinute),
    allows: (ip: string | undefined) => limit.allows(addressKey(ip)),
    /** Counts a refused key from `ip`; the refusal that spends the last token is reported. */
    refused(ip: string | undefined): void {
      const address = addressKey(ip);
      limit.take(address);
      if (limit.allows(address)) return;
      limitedSinceWarn++;
      const t = now();
      if (t - warnedAt < WARN_EVERY_MS) return;
      o.log.warn(
        { address, addresses: limitedSinceWarn, perMinute: o.perMinute },
        "osmand: source addresses limited after refused device keys",
      );
      warnedAt = t;
      limitedSinceWarn = 0;
    },
  };
}
