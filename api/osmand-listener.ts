import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyBaseLogger, type FastifyRequest, LogController } from "fastify";
import type pg from "pg";
import type { Bridge } from "../bridge/bridge.ts";
import type { Config } from "../core/config.ts";
import { subscribeControl } from "../core/control.ts";
import type { Logger } from "../core/logger.ts";
import { labelledField } from "../core/metrics-catalogue.ts";
import { type Redis, redisKeys } from "../core/redis.ts";
import { topics } from "../core/topics.ts";
import { createDeviceKeyCache, type DeviceKeyCacheOptions } from "./device-key-cache.ts";
import { registerErrorHandler, sendError } from "./errors.ts";
import { createKeyRefusalLimit } from "./osmand-key-refusals.ts";
import { readOsmAndRequest } from "./osmand-request.ts";

export interface OsmAndListenerDeps {
  port: number;
  host: string;
  pool: pg.Pool;
  /** the API process's bridge, the one HTTP ingest uses */
  bridge: Pick<Bridge, "ingest">;
  /** for the osmand_requests counter */
  redis: Redis;
  /** a connection in subscriber mode: the revokes that drop a cached device key (core/control.ts) */
  subscriber: Redis;
  config: Pick<Config, "MAX_PAYLOAD_BYTES" | "HTTP_INGEST_RATE_LIMIT" | "OSMAND_KEY_REFUSALS_PER_MINUTE">;
  log: Logger;
  deviceKeyCache?: DeviceKeyCacheOptions;
}

export interface OsmAndListener {
  port: number;
  close(): Promise<void>;
}

type Outcome =
  | "queued"
  | "rejected"
  | "key_refused"
  | "address_limited"
  | "rate_limited"
  | "too_large"
  | "headers_too_large";

/** answers made outside the handler (rate limit, body limit), counted when they go out */
const LIMIT_OUTCOMES: Partial<Record<number, Outcome>> = { 429: "rate_limited", 413: "too_large" };

/**
 * The OsmAnd protocol (Traccar Client, the OsmAnd app's online tracking) on a port of its own
 * (OSMAND_PORT; the app's usual 5055), in the API process beside HTTP ingest and through the same
 * bridge: `GET` or `POST` on any path, parameters in the query or a form, or the JSON body of
 * Traccar Client 9+ (osmand-request.ts; the adapter, bridge/adapters/osmand.ts, reads the fields).
 *
 * The app sends no password: `id` is the vehicle's device key (a 128-bit secret, core/vehicles.ts),
 * resolved through a cache (device-key-cache.ts) that a rotation, removal or deactivation empties
 * of the vehicle's key at once (the brokers' revoke, on `subscriber`), so a rotated key is refused
 * from the next request on. Refused keys are limited per source address
 * (osmand-key-refusals.ts). Answers:
 *   200  the fix is queued (bridge.ingest resolved: the guarantee of HTTP ingest and PUBACK);
 *   400  E_FIX_REJECTED: the fix was refused and is in the dead letter, `reason` says why;
 *   403  E_DEVICE_KEY_REFUSED: no, unknown or rotated key; nothing is recorded (no vehicle to
 *        record it under);
 *   429  E_DEVICE_KEY_REFUSALS: past OSMAND_KEY_REFUSALS_PER_MINUTE refused keys from this
 *        address, for a key not already known (no lookup is made);
 *   429  E_RATE_LIMITED: past HTTP_INGEST_RATE_LIMIT requests (one fix each) a minute for this vehicle;
 *   503  the queue is unavailable (hold cap): nothing stored, retry.
 * Traccar Client tells only 2xx from the rest: on anything else it keeps the fix and sends it
 * again later (README, "Traccar Client"), so a 400 or a 403 stays visible in the app and in
 * `osmand_requests` until the phone is set up right.
 * The URL carries the key: it is never logged here (paths only), and a proxy in front should not
 * log query strings either (docs/architecture.md).
 */
export async function listenOsmAnd(deps: OsmAndListenerDeps): Promise<OsmAndListener> {
  const { pool, bridge, redis, config, log } = deps;
  const deviceKeys = createDeviceKeyCache(pool, deps.deviceKeyCache);
  const refusals = createKeyRefusalLimit({ perMinute: config.OSMAND_KEY_REFUSALS_PER_MINUTE, log });
  const unsubscribeControl = await subscribeControl(deps.subscriber, log, (msg) => {
    if (msg.type === "revoke") deviceKeys.revoke(msg.vehicleId);
  });
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // bodies up to twice the bridge's cap are read, so that an oversized one is dead-lettered
    bodyLimit: config.MAX_PAYLOAD_BYTES * 2,
  });
  registerErrorHandler(app);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  app.decorateRequest("vehicleId", null);
  const payloads = new WeakMap<FastifyRequest, Buffer>();
  const idPrefix = `k${process.pid.toString(36)}${Date.now().toString(36)}`;
  let seq = 0;
  const count = (outcome: Outcome) =>
    redis.hincrby(redisKeys.metrics, labelledField("osmand_requests", outcome), 1).catch(() => {});

  // after the key lookup (preValidation), so that the budget is the vehicle's: one fix a request
  await app.register(rateLimit, {
    hook: "preHandler",
    max: config.HTTP_INGEST_RATE_LIMIT,
    timeWindow: 60_000,
    keyGenerator: (req) => req.vehicleId ?? "",
  });

  app.addHook("preValidation", async (req, reply) => {
    const body = Buffer.isBuffer(req.body) ? req.body : undefined;
    const { key, payload } = readOsmAndRequest(req.url, req.headers["content-type"], body);
    const known = key === undefined ? undefined : deviceKeys.cachedVehicleOf(key);
    if (known === undefined && !refusals.allows(req.ip)) {
      count("address_limited");
      reply.header("retry-after", String(refusals.retryAfterSeconds));
      return sendError(reply, "E_DEVICE_KEY_REFUSALS");
    }
    const vehicleId = known ?? (key === undefined ? undefined : await deviceKeys.vehicleOf(key));
    if (vehicleId === undefined) {
      count("key_refused");
      refusals.refused(req.ip);
      log.info({ peer: req.ip, keyGiven: key !== undefined }, "osmand request refused: device key");
      return sendError(reply, "E_DEVICE_KEY_REFUSED");
    }
    req.vehicleId = vehicleId;
    payloads.set(req, payload);
  });

  app.addHook("onResponse", async (req, reply) => {
    const limited = LIMIT_OUTCOMES[reply.statusCode];
    // a 429 before the key was known is the address limit's, already counted as address_limited
    if (limited && (limited !== "rate_limited" || req.vehicleId !== undefined)) count(limited);
    req.log.debug(
      {
        method: req.method,
        path: req.url.split("?", 1)[0],
        vehicleId: req.vehicleId,
        statusCode: reply.statusCode,
      },
      "osmand request completed",
    );
  });

  app.route({
    method: ["GET", "POST"],
    url: "/*",
    handler: async (req, reply) => {
      const vehicleId = req.vehicleId as string;
      let outcome: Awaited<ReturnType<typeof bridge.ingest>>;
      try {
        outcome = await bridge.ingest({
          vehicleId,
          topic: topics.osmand(vehicleId),
          kind: "osmand",
          payload: payloads.get(req) ?? Buffer.alloc(0),
          receivedAt: Date.now(),
          messageId: `${idPrefix}-${(seq++).toString(36)}`,
        });
      } catch (err) {
        // the queue is unreachable (hold cap) or the bridge is closing: nothing was stored
        req.log.warn({ err, vehicleId }, "osmand fix not queued");
        reply.header("retry-after", "5");
        return sendError(reply, "E_INGEST_UNAVAILABLE");
      }
      const [first] = outcome.rejects;
      if (first) {
        count("rejected");
        return sendError(reply, "E_FIX_REJECTED", `${first.reason}: ${first.detail}`, {
          reason: first.reason,
          detail: first.detail,
        });
      }
      count("queued");
      return reply.code(200).send();
    },
  });

  // Node answers 431 itself, before any request exists: counted from its clientError event
  app.server.on("clientError", (err: NodeJS.ErrnoException) => {
    if (err.code === "HPE_HEADER_OVERFLOW") count("headers_too_large");
  });
  await app.listen({ port: deps.port, host: deps.host });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : deps.port;
  log.info({ port }, "osmand listening");
  return {
    port,
    async close() {
      await app.close();
      await unsubscribeControl();
    },
  };
}
