import type pg from "pg";

/** vehicle id for a registered IMEI, or undefined */
export type ResolveImei = (imei: string) => Promise<string | undefined>;

export interface ImeiResolver extends ResolveImei {
  /**
   * A vehicle was deactivated, deleted or given another IMEI (the control channel's revoke,
   * core/control.ts): its cached IMEI goes, and so do the cached refusals, one of which may be
   * its new IMEI. Revokes are rare; the scan is over a bounded map.
   */
  forgetVehicle(vehicleId: string): void;
}

/**
 * Teltonika devices are known by their IMEI (the TCP handshake, `{imei}/data` over MQTT), so the
 * broker and the bridge find the vehicle registered with it. Answers (unknown IMEIs included) are
 * cached for `ttlMs`, so a fleet's steady stream costs no query per message; a newly registered
 * IMEI is seen within it, a revoked vehicle at once (forgetVehicle).
 */
export function createImeiResolver(pool: pg.Pool, ttlMs = 60_000, now = Date.now): ImeiResolver {
  const cache = new Map<string, { vehicleId: string | undefined; at: number }>();
  // a revoke during a lookup must not let the lookup's older answer into the cache
  let generation = 0;
  const resolve: ResolveImei = async (imei) => {
    const hit = cache.get(imei);
    if (hit && now() - hit.at < ttlMs) return hit.vehicleId;
    const asked = generation;
    const r = await pool.query<{ id: string }>(
      "SELECT id FROM vehicles WHERE imei = $1 AND status <> 'inactive'",
      [imei],
    );
    const vehicleId = r.rows[0]?.id;
    if (asked !== generation) return resolve(imei);
    // bounded: an IMEI scan of garbage topics must not grow the map without end
    if (cache.size >= 100_000) cache.clear();
    cache.set(imei, { vehicleId, at: now() });
    return vehicleId;
  };
  return Object.assign(resolve, {
    forgetVehicle(vehicleId: string) {
      generation++;
      for (const [imei, e] of cache)
        if (e.vehicleId === vehicleId || e.vehicleId === undefined) cache.delete(imei);
    },
  });
}
