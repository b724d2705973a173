import type { LivePosition } from "../bridge/live-state.ts";
import { type Redis, redisKeys } from "../core/redis.ts";

/** [west, south, east, north] in degrees (WGS 84). */
export type BBox = readonly [number, number, number, number];

// Redis GEO covers |lat| <= 85.05112878; fixes nearer the poles are in the live hash only.
const GEO_MAX_LAT = 85.05112878;
// Redis's own earth radius (geohash_helper.c): km per degree along a meridian.
const KM_PER_DEG = (6372.797560856 * Math.PI) / 180;

export function inBox(p: { lat: number; lng: number }, b: BBox): boolean {
  return p.lng >= b[0] && p.lng <= b[2] && p.lat >= b[1] && p.lat <= b[3];
}

/**
 * The newest position of every vehicle inside `bbox` (all vehicles without one). A box of a
 * city or a country asks the GEO index (GEOSEARCH BYBOX, sized as a superset of the degree box,
 * then filtered exactly on the live record); a box of a continent or more, or one reaching past
 * the GEO index's latitude limit, reads the live hash whole, which is then cheaper.
 */
export async function positionsInBox(redis: Redis, bbox?: BBox): Promise<LivePosition[]> {
  if (
    !bbox ||
    bbox[2] - bbox[0] > 90 ||
    bbox[3] - bbox[1] > 60 ||
    Math.abs(bbox[1]) > GEO_MAX_LAT ||
    Math.abs(bbox[3]) > GEO_MAX_LAT
  ) {
    const all = parseAll(await redis.hvals(redisKeys.live));
    return bbox ? all.filter((p) => inBox(p, bbox)) : all;
  }
  const [w, s, e, n] = bbox;
  // widest east-west extent of the box: along the latitude nearest the equator
  const equatorMost = s <= 0 && n >= 0 ? 0 : Math.min(Math.abs(s), Math.abs(n));
  const widthKm = (e - w) * KM_PER_DEG * Math.cos((equatorMost * Math.PI) / 180) * 1.01 + 0.01;
  const heightKm = (n - s) * KM_PER_DEG * 1.01 + 0.01;
  const ids = (await redis.geosearch(
    redisKeys.geo,
    "FROMLONLAT",
    (w + e) / 2,
    (s + n) / 2,
    "BYBOX",
    widthKm,
    heightKm,
    "km",
  )) as string[];
  if (ids.length === 0) return [];
  const raw = await redis.hmget(redisKeys.live, ...ids);
  return parseAll(raw).filter((p) => inBox(p, bbox));
}

/** The live records of these vehicles (null where a vehicle has none yet). */
export async function livePositions(redis: Redis, ids: readonly string[]): Promise<(LivePosition | null)[]> {
  if (ids.length === 0) return [];
  const raw = await redis.hmget(redisKeys.live, ...ids);
  return raw.map((r) => (r ? parseOne(r) : null));
}

function parseAll(raw: (string | null)[]): LivePosition[] {
  const out: LivePosition[] = [];
  for (const r of raw) {
    const p = r ? parseOne(r) : null;
    if (p) out.push(p);
  }
  return out;
}

function parseOne(raw: string): LivePosition | null {
  try {
    return JSON.parse(raw) as LivePosition;
  } catch {
    return null;
  }
}
