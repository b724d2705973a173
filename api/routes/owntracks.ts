import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { topics } from "../../core/topics.ts";
import { type DeviceIngestDeps, deviceIngestRoutes } from "../device-ingest-route.ts";

/** The app names its device in X-Limit-D (booklet, "HTTP"); it becomes the topic's last level. */
const DEVICE_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * OwnTracks HTTP mode: the app POSTs the same JSON it would publish over MQTT, as a publish on
 * `owntracks/{id}/{device}`. The answer is always 200 `[]` (the app expects a JSON array: commands
 * or friends' locations, none here), also for an ignored type or a rejected payload: the app
 * resends until it gets a 2xx and holds its queue meanwhile, and a resend would not help.
 */
export function owntracksRoutes(deps: DeviceIngestDeps): FastifyPluginAsyncZod {
  return deviceIngestRoutes(deps, {
    idLetter: "o",
    logAs: "owntracks http",
    routes: [
      {
        url: "/api/owntracks",
        summary: "OwnTracks HTTP mode: one OwnTracks JSON message, HTTP Basic with the vehicle's credentials",
        headers: z.object({ "x-limit-d": z.string().optional().describe("OwnTracks device name") }),
        topic: (vehicleId, req) => {
          const named = req.headers["x-limit-d"];
          return topics.owntracks(
            vehicleId,
            typeof named === "string" && DEVICE_RE.test(named) ? named : "http",
          );
        },
        answer: { status: 200, schema: z.array(z.unknown()), body: () => [] },
      },
    ],
  });
}
