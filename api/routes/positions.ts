import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { positionsInBox } from "../../core/live-state.ts";
import type { Redis } from "../../core/redis.ts";
import { errorSchema } from "../errors.ts";
import { pageQuery, pageSchema, toPage } from "../pagination.ts";
import { bboxQuery, livePositionSchema } from "../schemas.ts";

const query = pageQuery(10_000, 1000).extend({ bbox: bboxQuery.optional() });

/** Latest positions inside a box, from the Redis GEO index and live hash; pages by vehicle id. */
export function positionRoutes(deps: { redis: Redis }): FastifyPluginAsyncZod {
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
            200: pageSchema(livePositionSchema),
            400: errorSchema,
          },
        },
      },
      async (req) => {
        const { bbox, limit, cursor } = req.query;
        const all = await positionsInBox(deps.redis, bbox);
        const sorted = all
          .filter((p) => cursor === undefined || p.vehicleId > cursor)
          .sort((a, b) => (a.vehicleId < b.vehicleId ? -1 : 1));
        return toPage(sorted, limit, (last) => last.vehicleId);
      },
    );
  };
}
