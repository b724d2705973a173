import type { Result } from "ioredis";
import type { Fix } from "./fix.ts";
import { counterField } from "./metrics-catalogue.ts";
import { type Redis, redisKeys } from "./redis.ts";

/**
 * The live state: each vehicle's newest position in Redis, written by the bridge once per flush
 * (bridge/bridge.ts) and read by the API (REST, /ws snapshots); the live channel carries the
 * updates to the API's WebSocket hub (api/live-hub.ts, through channelOf in core/redis.ts).
 */
export const liveKeys = {
  /** hash vehicleId → JSON of the newest fix (LivePosition) */
  live: "lt:live",
  /** hash vehicleId → recordedAt (ms) of the newest fix, for compare-and-set */
  liveTime: "lt:live:t",
  /** GEO set of the newest positions */
  geo: "lt:geo",
  /** sorted set of the vehicle ids in the live hash, every score 0: lexicographic, for paging */
  ids: "lt:live:ids",
  /** pub/sub channel carrying the newest fixes of each flush as one JSON array */
  liveChannel: "lt:live:updates",
};

/**
 * Live state, GEO index and the live channel for one flush in ONE server-side script call:
 * per vehicle, the newest fix of the batch replaces the stored one only if it is newer
 * (compare-and-set on recordedAt, so live state never goes back in time); Redis GEO accepts
 * |lat| <= 85.05112878, polar fixes skip it. A vehicle new to live state joins the id set (once:
 * nothing per fix). Updated fixes are published as one JSON array.
 * A pipeline of HGET/HSET/GEOADD/PUBLISH per vehicle cost a large share of the bridge's CPU.
 *
 * KEYS: live time hash, live hash, GEO set, metrics hash, id set. ARGV: channel, then per vehicle:
 * id, recordedAt, lng, lat, json. Late fixes (not newer) are counted; returns their vehicle ids.
 */
const LIVE_SCRIPT = `
local stale = {}
local out = {}
for i = 2, #ARGV, 5 do
  local id, t = ARGV[i], tonumber(ARGV[i + 1])
  local cur = redis.call('HGET', KEYS[1], id)
  if (not cur) or tonumber(cur) < t then
    if not cur then redis.call('ZADD', KEYS[5], 0, id) end
    redis.call('HSET', KEYS[1], id, ARGV[i + 1])
    redis.call('HSET', KEYS[2], id, ARGV[i + 4])
    local lat = tonumber(ARGV[i + 3])
    if lat <= 85.05112878 and lat >= -85.05112878 then
      redis.call('GEOADD', KEYS[3], ARGV[i + 2], ARGV[i + 3], id)
    end
    out[#out + 1] = ARGV[i + 4]
  else
    stale[#stale + 1] = id
  end
end
if #out > 0 then redis.call('PUBLISH', ARGV[1], '[' .. table.concat(out, ',') .. ']') end
if #stale > 0 then redis.call('HINCRBY', KEYS[4], '${counterField("bridge_live_stale")}', #stale) end
return stale
`;

/** What the live channel and the live hash carry for one vehicle: its newest fix, less the message id. */
export type LivePosition = Omit<Fix, "messageId">;

declare module "ioredis" {
  interface RedisCommander<Context> {
    liveUpdate(...keysAndArgs: (string | number)[]): Result<string[], Context>;
  }
}

/** Registers the script on a connection (ioredis sends EVALSHA, falling back to EVAL once). */
export function defineLiveUpdate(redis: Redis): Redis {
  if (!Object.hasOwn(redis, "liveUpdate"))
    redis.defineCommand("liveUpdate", { numberOfKeys: 5, lua: LIVE_SCRIPT });
  return redis;
}

/** The newest fix per vehicle among `fixes`: what the flush offers to live state. */
export function newestPerVehicle(fixes: readonly Fix[]): Fix[] {
  const newest = new Map<string, Fix>();
  for (const f of fixes) {
    const cur = newest.get(f.vehicleId);
    if (!cur || cur.recordedAt < f.recordedAt) newest.set(f.vehicleId, f);
  }
  return [...newest.values()];
}

/** Builds the script's keys and arguments for the newest fixes. */
export function liveArgs(newest: readonly Fix[], liveChannel: string): (string | number)[] {
  const argv: (string | number)[] = [
    liveKeys.liveTime,
    liveKeys.live,
    liveKeys.geo,
    redisKeys.metrics,
    liveKeys.ids,
    liveChannel,
  ];
  for (const f of newest) {
    const pos: LivePosition = {
      vehicleId: f.vehicleId,
      recordedAt: f.recordedAt,
      lat: f.lat,
      lng: f.lng,
      speed: f.speed,
      heading: f.heading,
      altitude: f.altitude,
      accuracy: f.accuracy,
      ignition: f.ignition,
      odometer: f.odometer,
      attributes: f.attributes,
      receivedAt: f.receivedAt,
    };
    argv.push(f.vehicleId, f.recordedAt, f.lng, f.lat, JSON.stringify(pos));
  }
  return argv;
}

/** Forgets a vehicle's live state: its live record, its compare-and-set time, its GEO and id members. */
export async function removeLiveState(redis: Redis, vehicleId: string): Promise<void> {
  await redis
    .multi()
    .hdel(liveKeys.live, vehicleId)
    .hdel(liveKeys.liveTime, vehicleId)
    .zrem(liveKeys.geo, vehicleId)
    .zrem(liveKeys.ids, vehicleId)
    .exec();
}

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
  if (!bbox || !servedByGeo(bbox)) {
    const all = parseAll(await redis.hvals(liveKeys.live));
    return bbox ? all.filter((p) => inBox(p, bbox)) : all;
  }
  const ids = await geoIds(redis, bbox);
  if (ids.length === 0) return [];
  const raw = await redis.hmget(liveKeys.live, ...ids);
  return parseAll(raw).filter((p) => inBox(p, bbox));
}

/**
 * Up to `limit` + 1 newest positions in vehicle-id order after `cursor` (inside `bbox` when given):
 * keyset paging that reads about a page of records per page, not the fleet. A city or country box
 * takes its ids from the GEO index (ids only, sorted here); otherwise ids come in order from the
 * id set (ZRANGE BYLEX), and their records are read a chunk at a time until the page is full.
 */
export async function positionsPage(
  redis: Redis,
  q: { bbox?: BBox | undefined; cursor?: string | undefined; limit: number },
): Promise<LivePosition[]> {
  const { bbox, cursor } = q;
  const want = q.limit + 1;
  const out: LivePosition[] = [];
  const read = async (ids: string[]) => {
    for (const p of parseAll(await redis.hmget(liveKeys.live, ...ids)))
      if (!bbox || inBox(p, bbox)) out.push(p);
  };
  if (bbox && servedByGeo(bbox)) {
    const ids = (await geoIds(redis, bbox)).filter((id) => cursor === undefined || id > cursor).sort();
    for (let i = 0; i < ids.length && out.length < want; i += want) await read(ids.slice(i, i + want));
    return out.slice(0, want);
  }
  await repairIdSet(redis);
  // a box the GEO index does not serve filters what it reads: larger chunks, fewer round trips
  const chunk = bbox ? Math.max(want, 1000) : want;
  let after = cursor;
  for (;;) {
    const ids = await redis.zrangebylex(
      liveKeys.ids,
      after === undefined ? "-" : `(${after}`,
      "+",
      "LIMIT",
      0,
      chunk,
    );
    if (ids.length > 0) await read(ids);
    if (out.length >= want || ids.length < chunk) return out.slice(0, want);
    after = ids.at(-1);
  }
}

/**
 * The id set holds the live hash's ids whenever the script and removeLiveState wrote both (they
 * do so atomically). Live state from before the set existed, or written around the script (the
 * UI bench), is brought in step here: O(1) to check, the fleet's size once to repair.
 */
async function repairIdSet(redis: Redis): Promise<void> {
  const counts = await redis.multi().hlen(liveKeys.live).zcard(liveKeys.ids).exec();
  if (counts?.[0]?.[1] === counts?.[1]?.[1]) return;
  const ids = await redis.hkeys(liveKeys.live);
  const known = new Set(ids);
  const gone = (await redis.zrange(liveKeys.ids, "0", "-1")).filter((id) => !known.has(id));
  for (let i = 0; i < ids.length; i += 1000)
    await redis.zadd(liveKeys.ids, ...ids.slice(i, i + 1000).flatMap((id) => [0, id]));
  if (gone.length > 0) await redis.zrem(liveKeys.ids, ...gone);
}

/** A box of a city or a country, within the GEO index's latitudes; a continent or more reads the hash. */
function servedByGeo(b: BBox): boolean {
  return (
    b[2] - b[0] <= 90 && b[3] - b[1] <= 60 && Math.abs(b[1]) <= GEO_MAX_LAT && Math.abs(b[3]) <= GEO_MAX_LAT
  );
}

/** The ids GEOSEARCH BYBOX finds in a superset of the degree box (filter the records exactly). */
async function geoIds(redis: Redis, bbox: BBox): Promise<string[]> {
  const [w, s, e, n] = bbox;
  // widest east-west extent of the box: along the latitude nearest the equator
  const equatorMost = s <= 0 && n >= 0 ? 0 : Math.min(Math.abs(s), Math.abs(n));
  const widthKm = (e - w) * KM_PER_DEG * Math.cos((equatorMost * Math.PI) / 180) * 1.01 + 0.01;
  const heightKm = (n - s) * KM_PER_DEG * 1.01 + 0.01;
  return (await redis.geosearch(
    liveKeys.geo,
    "FROMLONLAT",
    (w + e) / 2,
    (s + n) / 2,
    "BYBOX",
    widthKm,
    heightKm,
    "km",
  )) as string[];
}

/** The live records of these vehicles (null where a vehicle has none yet). */
export async function livePositions(redis: Redis, ids: readonly string[]): Promise<(LivePosition | null)[]> {
  if (ids.length === 0) return [];
  const raw = await redis.hmget(liveKeys.live, ...ids);
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
