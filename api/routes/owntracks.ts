import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Bridge } from "../../bridge/bridge.ts";
import type { Config } from "../../core/config.ts";
import { topics } from "../../core/topics.ts";
import { errorSchema, sendError } from "../errors.ts";
import { parseBasic } from "../plugins/auth.ts";

/** The app names its device in X-Limit-D (booklet, "HTTP"); it becomes the topic's last level. */
const DEVICE_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * OwnTracks HTTP mode: the app POSTs the same JSON it would publish over MQTT, with the vehicle's
 * credentials as HTTP Basic (username = vehicle id). The body goes through the bridge as a publish
 * on `owntracks/{id}/{device}` would (adapter, validation, batch, dead letter), and the answer
 * comes once it is durably queued. The answer is always 200 `[]` (the app expects a JSON array:
 * commands or friends' locations, none here), also for an ignored type or a rejected payload: the
 * app resends until it gets a 2xx and holds its queue meanwhile, and a resend would not help.
 * A 503 (queue unavailable) is the one case where resending is right.
 */
export function owntracksRoutes(deps: {
  bridge: Pick<Bridge, "ingest">;
  config: Pick<Config, "MAX_PAYLOAD_BYTES" | "HTTP_INGEST_RATE_LIMIT">;
}): FastifyPluginAsyncZod {
  const { bridge, config } = deps;
  const idPrefix = `o${process.pid.toString(36)}${Date.now().toString(36)}`;
  let seq = 0;
  return async (app) => {
    // the bridge parses the JSON (a bad body is a recorded reject, not a 400); bodies up to twice
    // the limit are read so that an oversized one is recorded as E_TOO_LARGE
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      "*",
      { parseAs: "buffer", bodyLimit: config.MAX_PAYLOAD_BYTES * 2 },
      (_req, body, done) => done(null, body),
    );
    app.post(
      "/api/owntracks",
      {
        config: {
          access: "device",
          rateLimit: {
            max: config.HTTP_INGEST_RATE_LIMIT,
            timeWindow: 60_000,
            keyGenerator: (req: { ip: string; headers: { authorization?: string | undefined } }) =>
              `${req.ip}|${parseBasic(req.headers.authorization)?.username ?? ""}`,
          },
        },
        schema: {
          tags: ["ingest"],
          summary:
            "OwnTracks HTTP mode: one OwnTracks JSON message, HTTP Basic with the vehicle's credentials",
          security: [{ device: [] }],
          headers: z.object({ "x-limit-d": z.string().optional().describe("OwnTracks device name") }),
          response: { 200: z.array(z.unknown()), 401: errorSchema, 503: errorSchema },
        },
      },
      async (req, reply) => {
        const vehicleId = req.vehicleId as string;
        const named = req.headers["x-limit-d"];
        const device = typeof named === "string" && DEVICE_RE.test(named) ? named : "http";
        try {
          const outcome = await bridge.ingest({
            vehicleId,
            topic: topics.owntracks(vehicleId, device),
            payload: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
            receivedAt: Date.now(),
            messageId: `${idPrefix}-${(seq++).toString(36)}`,
          });
          req.log.debug(
            {
              vehicleId,
              accepted: outcome.accepted,
              rejects: outcome.rejects.length,
              ignored: outcome.ignored,
            },
            "owntracks http",
          );
          return reply.code(200).send([]);
        } catch (err) {
          req.log.warn({ err, vehicleId }, "owntracks http not queued");
          reply.header("retry-after", "5");
          return sendError(reply, "E_INGEST_UNAVAILABLE");
        }
      },
    );
  };
}
