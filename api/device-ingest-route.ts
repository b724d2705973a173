import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { z } from "zod";
import type { Bridge, IngestOutcome } from "../bridge/bridge.ts";
import type { Config } from "../core/config.ts";
import { errorSchema, sendError } from "./errors.ts";
import { parseBasic } from "./plugins/auth.ts";

export interface DeviceIngestDeps {
  bridge: Pick<Bridge, "ingest">;
  config: Pick<Config, "MAX_PAYLOAD_BYTES" | "HTTP_INGEST_RATE_LIMIT">;
}

export interface DeviceIngestRoute {
  url: string;
  summary: string;
  /** the MQTT topic the body would have been published on */
  topic: (vehicleId: string, req: FastifyRequest) => string;
  headers?: z.ZodObject;
  /** the answer once the body is durably queued, whether its fixes were accepted or rejected */
  answer: { status: 200 | 202; schema: z.ZodType; body: (outcome: IngestOutcome) => unknown };
}

export interface DeviceIngestProtocol {
  /** starts this protocol's message ids, so that those of two protocols never meet */
  idLetter: string;
  /** names the protocol in the logs */
  logAs: string;
  routes: DeviceIngestRoute[];
}

/**
 * HTTP ingest for devices that post what they would publish over MQTT, with the vehicle's
 * credentials as HTTP Basic (username = vehicle id): the raw body goes through the same bridge
 * `ingest()` as a publish on the route's topic (same adapters, validation, batching, dead letter),
 * and the answer comes once it is durably queued, as a PUBACK would. A rejected body is recorded and
 * answered as queued, as resending it would not help; a 503 (queue unavailable) is the one answer
 * on which resending is right.
 */
export function deviceIngestRoutes(
  deps: DeviceIngestDeps,
  protocol: DeviceIngestProtocol,
): FastifyPluginAsyncZod {
  const { bridge, config } = deps;
  const idPrefix = `${protocol.idLetter}${process.pid.toString(36)}${Date.now().toString(36)}`;
  let seq = 0;
  const rateLimit = {
    max: config.HTTP_INGEST_RATE_LIMIT,
    timeWindow: 60_000,
    // per device and address: devices behind one carrier NAT do not share a budget, and a
    // client naming someone else's vehicle only spends its own address's
    keyGenerator: (req: { ip: string; headers: { authorization?: string | undefined } }) =>
      `${req.ip}|${parseBasic(req.headers.authorization)?.username ?? ""}`,
  };
  return async (app) => {
    // the bridge parses the JSON itself (a bad body is a recorded E_BAD_JSON, not a 400); bodies up
    // to twice the limit are read so that an oversized one is recorded as E_TOO_LARGE
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      "*",
      { parseAs: "buffer", bodyLimit: config.MAX_PAYLOAD_BYTES * 2 },
      (_req, body, done) => done(null, body),
    );
    for (const route of protocol.routes) {
      app.post(
        route.url,
        {
          config: { access: "device", rateLimit },
          schema: {
            tags: ["ingest"],
            summary: route.summary,
            security: [{ device: [] }],
            ...(route.headers ? { headers: route.headers } : {}),
            response: { [route.answer.status]: route.answer.schema, 401: errorSchema, 503: errorSchema },
          },
        },
        async (req, reply) => {
          const vehicleId = req.vehicleId as string;
          try {
            const outcome = await bridge.ingest({
              vehicleId,
              topic: route.topic(vehicleId, req),
              payload: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
              receivedAt: Date.now(),
              messageId: `${idPrefix}-${(seq++).toString(36)}`,
            });
            req.log.debug(
              {
                vehicleId,
                accepted: outcome.accepted,
                rejected: outcome.rejects.length,
                ignored: outcome.ignored,
              },
              protocol.logAs,
            );
            return reply.code(route.answer.status).send(route.answer.body(outcome));
          } catch (err) {
            // the queue is unreachable (hold cap) or the bridge is closing: nothing was stored
            req.log.warn({ err, vehicleId }, `${protocol.logAs} not queued`);
            reply.header("retry-after", "5");
            return sendError(reply, "E_INGEST_UNAVAILABLE");
          }
        },
      );
    }
  };
}
