import { attemptsKey, laneKeys, SEEN_TTL_S } from "../../core/notifications.ts";
import type { Redis } from "../../core/redis.ts";

/**
 * A lane's owner key, held by the job draining it (core/notifications.ts): taken or refreshed by
 * the job that holds it, or by any job when free or expired. It expires so that a lane whose
 * owner vanished is taken by the next job; its TTL covers an attempt plus any backoff wait.
 */
const ACQUIRE = `
local o = redis.call('GET', KEYS[1])
if o == false or o == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

// the head is removed only by the owner and only if it is still the message delivered
const POP = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('LINDEX', KEYS[2], 0) == ARGV[2] then redis.call('LPOP', KEYS[2]) end
redis.call('DEL', KEYS[3])
return redis.call('LLEN', KEYS[2])`;

// let go only when empty: a message pushed before this is seen here, and one pushed after finds
// the lane free, so no message waits without a job to drain it
const RELEASE = `
if redis.call('LLEN', KEYS[2]) > 0 then return 0 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

export function createLane(redis: Redis, prefix: string, channelId: number, lane: string, owner: string) {
  const keys = laneKeys(prefix, channelId, lane);
  return {
    async acquire(ttlMs: number): Promise<boolean> {
      return (await redis.eval(ACQUIRE, 1, keys.owner, owner, Math.ceil(ttlMs))) === 1;
    },
    head(): Promise<string | null> {
      return redis.lindex(keys.list, 0);
    },
    /** counts an attempt before it is made: a worker killed mid-attempt still used it up */
    async countAttempt(deliveryId: string): Promise<number> {
      const key = attemptsKey(prefix, deliveryId);
      const [[, n] = []] = (await redis.multi().incr(key).expire(key, SEEN_TTL_S).exec()) ?? [];
      return Number(n);
    },
    /** false when this job no longer owns the lane (it expired and another took it) */
    async pop(head: string, deliveryId: string): Promise<boolean> {
      return (
        (await redis.eval(POP, 3, keys.owner, keys.list, attemptsKey(prefix, deliveryId), owner, head)) !== -1
      );
    },
    /** true when the lane was empty and is let go */
    async release(): Promise<boolean> {
      return (await redis.eval(RELEASE, 2, keys.owner, keys.list, owner)) === 1;
    },
  };
}
