import type pg from "pg";
import { DEVICE_KEY_RE, hashDeviceSecret } from "../core/credentials.ts";
import { LoadingCache } from "../core/loading-cache.ts";
import { vehicleByDeviceKeyHash } from "../core/vehicles.ts";

export interface DeviceKeyCacheOptions {
  /** keys remembered at once, found and unknown each (default 100,000) */
  maxEntries?: number;
  now?: () => number;
}

export type DeviceKeyCache = ReturnType<typeof createDeviceKeyCache>;

/**
 * OsmAnd device keys (api/osmand-listener.ts) resolved to their vehicle through a cache
 * (core/loading-cache.ts): a phone sends a fix every few seconds, and a lookup per request in
 * PostgreSQL bounded the listener at a few hundred requests a second. Kept by the key's SHA-256,
 * so the process's memory holds no key. A rotation, removal or (de)activation reaches every API
 * process as the brokers' revoke (core/control.ts, core/vehicle-admin.ts) and `revoke` drops the
 * vehicle's key at once; it names the vehicle, not the key, so it also drops every cached unknown
 * key (a vehicle set active again is not refused until they lapse) and every lookup in flight.
 */
export function createDeviceKeyCache(pool: pg.Pool, opts: DeviceKeyCacheOptions = {}) {
  const cache = new LoadingCache<string, string>({
    load: (hash) => vehicleByDeviceKeyHash(pool, Buffer.from(hash, "base64")),
    maxEntries: opts.maxEntries ?? 100_000,
    ...(opts.now ? { now: opts.now } : {}),
  });
  const hashOf = (key: string) => hashDeviceSecret(key).toString("base64");

  return {
    /** The active vehicle `key` names; undefined for a malformed (never looked up), unknown or rotated key. */
    async vehicleOf(key: string): Promise<string | undefined> {
      if (!DEVICE_KEY_RE.test(key)) return undefined;
      return cache.get(hashOf(key));
    },
    /** The vehicle of a key already cached as found, without a lookup. */
    cachedVehicleOf(key: string): string | undefined {
      return DEVICE_KEY_RE.test(key) ? cache.peek(hashOf(key)) : undefined;
    },
    revoke(vehicleId: string): void {
      cache.evictWhere((v) => v === vehicleId);
      cache.evictMisses();
    },
    get size(): number {
      return cache.size;
    },
  };
}
