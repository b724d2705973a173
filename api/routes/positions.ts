import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { positionsPage } from "../../core/live-state.ts";
import type { Redis } from "../../core/redis.ts";
import { errorSchema } from "../errors.ts";
import { pageQuery, pageSchema, toPage } from "../pagination.ts";
import { bboxQuery, livePositionSchema } from "../schemas.ts";
import { markStale } from "../stale.ts";

const query = pageQuery(10_000, 1000).extend({ bbox: bboxQuery.optional() });
const positionSchema = livePositionSchema.extend({
  stale: z
    .boolean()
    .describe("recordedAt is older than STALE_AFTER_SECONDS: speed and heading are last known, not current"),
});

/**
 * Latest positions inside a box, from the Redis GEO index and live hash; pages by vehicle id with
 * a keyset cursor (core/live-state.ts, positionsPage): a page reads about its own records, not the fleet.
 * A position whose fix is older than STALE_AFTER_SECONDS is marked stale, so a client shows it
 * as where the vehicle was last seen rather than where it drives now.
 */
export function positionRoutes(deps: {
  redis: Redis;
  config: Pick<Config, "STALE_AFTER_SECONDS">;
}): FastifyPluginAsyncZod {
  const staleMs = deps.config.STALE_AFTER_SECONDS * 1000;
  return async (app) => {
    app.get(
      "/api/positions",
      {
        config: { access: "read" },
        schema: {
          tags: ["live"],
          summary: "latest position of every vehicle inside bbox (all without bbox)",
          querystring: query,
          response: {
            200: pageSchema(positionSchema),
            400: errorSchema,
          },
        },
      },
      async (req) => {
        const { bbox, limit, cursor } = req.query;
        const rows = await positionsPage(deps.redis, { bbox, cursor, limit });
        const page = toPage(rows, limit, (last) => last.vehicleId);
        return { ...page, items: markStale(page.items, staleMs) };
      },
    );
  };
}
