import { createRequire } from "node:module";
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from "@fastify/rate-limit";
import type { Logger } from "../core/logger.ts";
import { type Redis, redisKeys } from "../core/redis.ts";

// @fastify/rate-limit's own stores (its index exports neither): the Redis one counts with one
// atomic script per request, the local one in an LRU map. Both take (continueExceeding,
// exponentialBackoff, …) and build per-route children.
const require = createRequire(import.meta.url);
type StoreClass = new (...args: unknown[]) => FastifyRateLimitStore;
const RedisStore = require("@fastify/rate-limit/store/RedisStore.js") as StoreClass;
const LocalStore = require("@fastify/rate-limit/store/LocalStore.js") as StoreClass;

type RouteOptions = Parameters<FastifyRateLimitStore["child"]>[0];

declare module "fastify" {
  interface FastifyContextConfig {
    /** count this route's `rateLimit` in Redis, across API replicas (api/rate-limit-store.ts) */
    rateLimitShared?: boolean;
  }
}

/**
 * Rate limits that every API replica behind a load balancer counts together, in Redis, for the
 * routes that ask (`config.rateLimitShared`: login, where a client spreading its guesses over
 * replicas must get no more); the others (HTTP ingest, on the hot path) count per process. When
 * Redis does not answer, a shared limit falls back to this process's own count: limits stay on
 * (per replica), and logins keep working while Redis restarts, as sessions do (api/sessions.ts).
 */
export function sharedRateLimitStore(redis: Redis, log: Logger): FastifyRateLimitStoreCtor {
  let fallingBack = false;

  const combine = (shared: FastifyRateLimitStore, local: FastifyRateLimitStore): FastifyRateLimitStore => ({
    incr(key, cb, timeWindow, max) {
      shared.incr(
        key,
        (err, result) => {
          if (!err) {
            if (fallingBack) log.info("rate limit: counting in Redis again");
            fallingBack = false;
            return cb(null, result);
          }
          if (!fallingBack)
            log.warn({ err: err.message }, "rate limit: Redis unavailable, counting per process");
          fallingBack = true;
          local.incr(key, cb, timeWindow, max);
        },
        timeWindow,
        max,
      );
    },
    child: (routeOptions: RouteOptions) => combine(shared.child(routeOptions), local.child(routeOptions)),
  });
  const isShared = (routeOptions: RouteOptions) =>
    (routeOptions as { routeInfo?: { config?: { rateLimitShared?: boolean } } }).routeInfo?.config
      ?.rateLimitShared === true;

  // the plugin calls `new store(options)` once with its global options, then `child` per route
  return function sharedStore(options: { continueExceeding?: boolean; exponentialBackoff?: boolean }) {
    const { continueExceeding = false, exponentialBackoff = false } = options;
    const shared = new RedisStore(continueExceeding, exponentialBackoff, redis, redisKeys.rateLimit);
    const local = new LocalStore(continueExceeding, exponentialBackoff);
    return {
      incr: (key, cb, timeWindow, max) => local.incr(key, cb, timeWindow, max),
      child: (routeOptions) =>
        isShared(routeOptions)
          ? combine(shared.child(routeOptions), local.child(routeOptions))
          : local.child(routeOptions),
    } satisfies FastifyRateLimitStore;
  } as unknown as FastifyRateLimitStoreCtor;
}
