import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { IngestOutcome } from "../../bridge/bridge.ts";
import { topics } from "../../core/topics.ts";
import { type DeviceIngestDeps, deviceIngestRoutes } from "../device-ingest-route.ts";

const outcomeSchema = z.object({
  accepted: z.number().int().describe("fixes queued for storage"),
  rejected: z.number().int(),
  rejects: z.array(z.object({ reason: z.string(), detail: z.string(), messageId: z.string() })),
});

/** 202 whether fixes were accepted or rejected: the rejects say why, by reason code. */
const answer = {
  status: 202 as const,
  schema: outcomeSchema,
  body: (outcome: IngestOutcome): z.infer<typeof outcomeSchema> => ({
    accepted: outcome.accepted,
    rejected: outcome.rejects.length,
    rejects: outcome.rejects.map((r) => ({ reason: r.reason, detail: r.detail, messageId: r.messageId })),
  }),
};

/** Native HTTP ingest for devices without MQTT: as a publish on `fleet/{id}/location(s)`. */
export function ingestRoutes(deps: DeviceIngestDeps): FastifyPluginAsyncZod {
  return deviceIngestRoutes(deps, {
    idLetter: "h",
    logAs: "http ingest",
    routes: [
      {
        url: "/api/location",
        summary: "one native fix (JSON object), HTTP Basic with the vehicle's credentials",
        topic: topics.location,
        answer,
      },
      {
        url: "/api/locations",
        summary: "a JSON array of native fixes (store-and-forward upload)",
        topic: topics.locations,
        answer,
      },
    ],
  });
}
