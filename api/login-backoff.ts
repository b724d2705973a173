import { createHash } from "node:crypto";
import type { Logger } from "../core/logger.ts";
import { labelledField } from "../core/metrics-catalogue.ts";
import { type Redis, redisKeys } from "../core/redis.ts";

/** Failures older than this (with none since) are forgotten, unless the backoff cap is longer. */
const FORGET_MS = 15 * 60_000;
const FIRST_DELAY_MS = 1000;

export interface LoginBackoffOptions {
  /** failed logins in a row before the account backs off */
  failures: number;
  /** the longest one backoff lasts */
  maxDelayMs: number;
}

export type LoginRefusal = "address" | "account";

/**
 * Per-account backoff on failed password logins, whatever address they come from (a botnet
 * spreads its guesses over addresses the per-address limit cannot see). After `failures` in a row
 * the account waits 1 s, then twice as long per further failure, never longer than `maxDelayMs`:
 * a guesser gets a few tries an hour, and the real user, who may be the one locked out, waits at
 * most that long. Attempts refused during a backoff are not failures (the password is not
 * checked), so hammering does not extend it. A success forgets the failures. Unknown usernames
 * count alike, so the backoff does not tell which accounts exist.
 *
 * Kept in Redis beside the rate limits, shared by every API replica. When Redis does not answer
 * the backoff is skipped (the per-address limit still holds, per process).
 */
export function createLoginBackoff(redis: Redis, log: Logger, opts: LoginBackoffOptions) {
  const keys = (username: string) => {
    const id = createHash("sha256").update(username).digest("base64url");
    return { count: `${redisKeys.loginBackoff}${id}:n`, wait: `${redisKeys.loginBackoff}${id}:wait` };
  };
  const forgetMs = Math.max(FORGET_MS, 2 * opts.maxDelayMs);

  return {
    /** Milliseconds until this username may try again; 0 when it may now. */
    async remainingMs(username: string): Promise<number> {
      const ttl = await redis.pttl(keys(username).wait).catch(() => -2);
      return Math.max(ttl, 0);
    },

    /** Counts a failed login; starts a backoff once there were `failures` in a row. */
    async failed(username: string): Promise<void> {
      const k = keys(username);
      try {
        const r = await redis.multi().incr(k.count).pexpire(k.count, forgetMs).exec();
        const n = Number(r?.[0]?.[1] ?? 0);
        if (n < opts.failures) return;
        const delay = Math.min(FIRST_DELAY_MS * 2 ** Math.min(n - opts.failures, 30), opts.maxDelayMs);
        await redis.set(k.wait, "1", "PX", delay);
        log.warn({ failures: n, backoffMs: delay }, "login: account backs off after failed logins");
      } catch (err) {
        log.warn({ err: (err as Error).message }, "login: failure not counted (Redis unavailable)");
      }
    },

    async succeeded(username: string): Promise<void> {
      const k = keys(username);
      await redis.del(k.count, k.wait).catch(() => {});
    },

    /** Counts a refusal in the pipeline metrics (/metrics: logitrack_api_login_refused_total). */
    refused(reason: LoginRefusal): void {
      redis.hincrby(redisKeys.metrics, labelledField("api_login_refused", reason), 1).catch(() => {});
    },
  };
}

export type LoginBackoff = ReturnType<typeof createLoginBackoff>;
