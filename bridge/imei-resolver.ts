import type pg from "pg";

/** vehicle id for a registered IMEI, or undefined */
export type ResolveImei = (imei: string) => Promise<string | undefined>;

/**
 * External-broker mode only: Teltonika devices publish on `{imei}/data`, so the bridge finds the
 * vehicle registered with that IMEI. Answers (unknown IMEIs included) are cached for `ttlMs`, so
 * a fleet's steady stream costs no query per message; a newly registered IMEI is seen within it.
 */
export function createImeiResolver(pool: pg.Pool, ttlMs = 60_000, now = Date.now): ResolveImei {
  const cache = new Map<string, { vehicleId: string | undefined; at: number }>();
  return async (imei) => {
    const hit = cache.get(imei);
    if (hit && now() - hit.at < ttlMs) return hit.vehicleId;
    const r = await pool.query<{ id: string }>(
      "SELECT id FROM vehicles WHERE imei = $1 AND status <> 'inactive'",
      [imei],
    );
    const vehicleId = r.rows[0]?.id;
    // bounded: an IMEI scan of garbage topics must not grow the map without end
    if (cache.size >= 100_000) cache.clear();
    cache.set(imei, { vehicleId, at: now() });
    return vehicleId;
  };
}
