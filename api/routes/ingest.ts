import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Bridge } from "../../bridge/bridge.ts";
import type { Config } from "../../core/config.ts";
import { topics } from "../../core/topics.ts";
import { errorSchema, sendError } from "../errors.ts";
import { parseBasic } from "../plugins/auth.ts";

const outcomeSchema = z.object({
  accepted: z.number().int().describe("fixes queued for storage"),
  rejected: z.number().int(),
  rejects: z.array(z.object({ reason: z.string(), detail: z.string(), messageId: z.string() })),
});

/**
 * HTTP ingest for devices without MQTT: the raw body goes through the same bridge `ingest()` as
 * an MQTT publish on `fleet/{id}/location(s)` (same adapters, validation, batching, dead letter),
 * and the answer comes once it is durably queued, as a PUBACK would. 202 whether fixes were
 * accepted or rejected: a rejection is recorded, and resending the same body would not help.
 */
export function ingestRoutes(deps: {
  bridge: Pick<Bridge, "ingest">;
  config: Pick<Config, "MAX_PAYLOAD_BYTES" | "HTTP_INGEST_RATE_LIMIT">;
}): FastifyPluginAsyncZod {
  const { bridge, config } = deps;
  const idPrefix = `h${process.pid.toString(36)}${Date.now().toString(36)}`;
  let seq = 0;
  return async (app) => {
    // the bridge parses the JSON itself (E_BAD_JSON is a recorded reject, not a 400); bodies up
    // to twice the limit are read so that an oversized one is recorded as E_TOO_LARGE
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      "*",
      { parseAs: "buffer", bodyLimit: config.MAX_PAYLOAD_BYTES * 2 },
      (_req, body, done) => done(null, body),
    );
    const rateLimit = {
      max: config.HTTP_INGEST_RATE_LIMIT,
      timeWindow: 60_000,
      // per device and address: devices behind one carrier NAT do not share a budget, and a
      // client naming someone else's vehicle only spends its own address's
      keyGenerator: (req: { ip: string; headers: { authorization?: string | undefined } }) =>
        `${req.ip}|${parseBasic(req.headers.authorization)?.username ?? ""}`,
    };
    for (const [url, topic] of [
      ["/api/location", topics.location],
      ["/api/locations", topics.locations],
    ] as const) {
      app.post(
        url,
        {
          config: { access: "device", rateLimit },
          schema: {
            tags: ["ingest"],
            summary:
              url === "/api/location"
                ? "one native fix (JSON object), HTTP Basic with the vehicle's credentials"
                : "a JSON array of native fixes (store-and-forward upload)",
            security: [{ device: [] }],
            response: { 202: outcomeSchema, 401: errorSchema, 503: errorSchema },
          },
        },
        async (req, reply) => {
          const vehicleId = req.vehicleId as string;
          try {
            const outcome = await bridge.ingest({
              vehicleId,
              topic: topic(vehicleId),
              payload: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
              receivedAt: Date.now(),
              messageId: `${idPrefix}-${(seq++).toString(36)}`,
            });
            req.log.debug(
              { vehicleId, accepted: outcome.accepted, rejected: outcome.rejects.length },
              "http ingest",
            );
            return reply.code(202).send({
              accepted: outcome.accepted,
              rejected: outcome.rejects.length,
              rejects: outcome.rejects.map((r) => ({
                reason: r.reason,
                detail: r.detail,
                messageId: r.messageId,
              })),
            });
          } catch (err) {
            // the queue is unreachable (hold cap) or the bridge is closing: nothing was stored
            req.log.warn({ err, vehicleId }, "http ingest not queued");
            reply.header("retry-after", "5");
            return sendError(reply, "E_INGEST_UNAVAILABLE");
          }
        },
      );
    }
  };
}
