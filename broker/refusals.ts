import type { Logger } from "../core/logger.ts";
import { labelledField } from "../core/metrics-catalogue.ts";
import { type Redis, redisKeys } from "../core/redis.ts";

/** What the broker refuses a client for, beside the connect-storm limits (limits/connect-limit.ts). */
export type RefusalCause = "client_id" | "fix_rate" | "ack_rate";

export type Refusals = ReturnType<typeof createRefusals>;

/**
 * Counts each refusal in this process (for tests and logs) and in the pipeline metrics hash as
 * `broker_refused{reason=<cause>}` (core/metrics-catalogue.ts), so /metrics shows an abusive
 * device's refusals whichever broker node saw them.
 */
export function createRefusals(redis: Redis, log: Logger) {
  const counts: Record<RefusalCause, number> = { client_id: 0, fix_rate: 0, ack_rate: 0 };
  return {
    counts,
    count(cause: RefusalCause, n = 1): void {
      counts[cause] += n;
      redis
        .hincrby(redisKeys.metrics, labelledField("broker_refused", cause), n)
        .catch((err: unknown) => log.debug({ err }, "refusal not counted"));
    },
  };
}
