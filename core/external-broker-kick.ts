import type { Config } from "./config.ts";
import type { Logger } from "./logger.ts";
import { counterField } from "./metrics-catalogue.ts";
import { type Redis, redisKeys } from "./redis.ts";

export type ExternalBrokerApiConfig = Pick<
  Config,
  "EXTERNAL_BROKER_API_URL" | "EXTERNAL_BROKER_API_KEY" | "EXTERNAL_BROKER_API_SECRET"
>;

export interface ExternalBrokerKick {
  /**
   * Ends every session the external broker holds for this username (a vehicle id). Resolves
   * with the sessions ended; never rejects: a failure is logged and counted, and the revocation
   * in the database stands (the broker checks it again at the device's next connect).
   */
  kick(username: string): Promise<number>;
}

/** Longest wait for one management API call: a revoke must not hang on a broker that is down. */
const CALL_TIMEOUT_MS = 5000;

/**
 * In external-broker mode the brokers' control channel (core/control.ts) reaches no session: EMQX
 * holds them. Its REST API (v5, HTTP basic auth with an API key) lists a username's clients and
 * kicks each by client id, whatever client id the device chose. Undefined when no API is
 * configured: then a revoked session lives until the device reconnects, or until EMQX's
 * authorization cache lapses for a removed or inactive vehicle (docker/emqx/emqx.conf).
 */
export function createExternalBrokerKick(
  config: ExternalBrokerApiConfig,
  deps: { redis: Redis | undefined; log: Logger },
): ExternalBrokerKick | undefined {
  const {
    EXTERNAL_BROKER_API_URL: url,
    EXTERNAL_BROKER_API_KEY: key,
    EXTERNAL_BROKER_API_SECRET: secret,
  } = config;
  if (!url || !key || !secret) return undefined;
  const base = url.replace(/\/+$/, "");
  const headers = {
    authorization: `Basic ${Buffer.from(`${key}:${secret}`).toString("base64")}`,
    accept: "application/json",
  };
  const call = async (method: "GET" | "DELETE", path: string) => {
    const res = await fetch(`${base}/api/v5${path}`, {
      method,
      headers,
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    // a client gone between the listing and the kick is what the kick wanted
    if (!res.ok && !(method === "DELETE" && res.status === 404))
      throw new Error(`${method} ${path}: HTTP ${res.status}`);
    return res;
  };

  return {
    async kick(username) {
      try {
        const listed = await call("GET", `/clients?username=${encodeURIComponent(username)}&_limit=100`);
        const body = (await listed.json()) as { data?: { clientid?: unknown }[] };
        const ids = (body.data ?? [])
          .map((c) => c.clientid)
          .filter((c): c is string => typeof c === "string");
        for (const id of ids) await call("DELETE", `/clients/${encodeURIComponent(id)}`);
        if (ids.length > 0)
          deps.log.info({ vehicleId: username, clients: ids }, "disconnected on the external broker");
        return ids.length;
      } catch (err) {
        deps.log.warn(
          { vehicleId: username, err: (err as Error).message },
          "could not disconnect a revoked device on the external broker: its session lives until it reconnects",
        );
        await deps.redis
          ?.hincrby(redisKeys.metrics, counterField("external_broker_kick_failures"), 1)
          .catch(() => {});
        return 0;
      }
    },
  };
}
