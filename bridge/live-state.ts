import type { Result } from "ioredis";
import type { Fix } from "../core/fix.ts";
import { type Redis, redisKeys } from "../core/redis.ts";

/**
 * Live state, GEO index and the live channel for one flush in ONE server-side script call:
 * per vehicle, the newest fix of the batch replaces the stored one only if it is newer
 * (compare-and-set on recordedAt, so live state never goes back in time); Redis GEO accepts
 * |lat| <= 85.05112878, polar fixes skip it. Updated fixes are published as one JSON array.
 * A pipeline of HGET/HSET/GEOADD/PUBLISH per vehicle cost the prototype ~20 % of bridge CPU.
 *
 * KEYS: live time hash, live hash, GEO set, metrics hash. ARGV: channel, then per vehicle:
 * id, recordedAt, lng, lat, json. Late fixes (not newer) are counted; returns their vehicle ids.
 */
const LIVE_SCRIPT = `
local stale = {}
local out = {}
for i = 2, #ARGV, 5 do
  local id, t = ARGV[i], tonumber(ARGV[i + 1])
  local cur = redis.call('HGET', KEYS[1], id)
  if (not cur) or tonumber(cur) < t then
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
if #stale > 0 then redis.call('HINCRBY', KEYS[4], 'bridge_fixes_late', #stale) end
return stale
`;

/** What the live channel and the live hash carry for one vehicle. */
export interface LivePosition {
  vehicleId: string;
  recordedAt: number;
  lat: number;
  lng: number;
  speed?: number | undefined;
  heading?: number | undefined;
  altitude?: number | undefined;
  accuracy?: number | undefined;
  ignition?: boolean | undefined;
  odometer?: number | undefined;
  receivedAt: number;
}

declare module "ioredis" {
  interface RedisCommander<Context> {
    liveUpdate(...keysAndArgs: (string | number)[]): Result<string[], Context>;
  }
}

/** Registers the script on a connection (ioredis sends EVALSHA, falling back to EVAL once). */
export function defineLiveUpdate(redis: Redis): Redis {
  if (!Object.hasOwn(redis, "liveUpdate"))
    redis.defineCommand("liveUpdate", { numberOfKeys: 4, lua: LIVE_SCRIPT });
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
    redisKeys.liveTime,
    redisKeys.live,
    redisKeys.geo,
    redisKeys.metrics,
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
      receivedAt: f.receivedAt,
    };
    argv.push(f.vehicleId, f.recordedAt, f.lng, f.lat, JSON.stringify(pos));
  }
  return argv;
}
