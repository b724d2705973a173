import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { type BBox, inBox, type LivePosition, livePositions, positionsPage } from "../../core/live-state.ts";
import type { Redis } from "../../core/redis.ts";
import { vehiclesInGroups } from "../../core/vehicle-groups.ts";
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
  pool: pg.Pool;
  redis: Redis;
  config: Pick<Config, "STALE_AFTER_SECONDS">;
}): FastifyPluginAsyncZod {
  const staleMs = deps.config.STALE_AFTER_SECONDS * 1000;

  /**
   * The same page for a caller limited to groups: its vehicles' ids in order after the cursor,
   * their live records read a chunk at a time until the page is full.
   */
  async function groupsPage(
    groups: number[],
    q: { bbox?: BBox | undefined; cursor?: string | undefined; limit: number },
  ): Promise<LivePosition[]> {
    const ids = [...(await vehiclesInGroups(deps.pool, groups))]
      .filter((id) => q.cursor === undefined || id > q.cursor)
      .sort();
    const out: LivePosition[] = [];
    for (let i = 0; i < ids.length && out.length <= q.limit; i += 1000)
      for (const p of await livePositions(deps.redis, ids.slice(i, i + 1000)))
        if (p && (!q.bbox || inBox(p, q.bbox))) out.push(p);
    return out.slice(0, q.limit + 1);
  }

  return async (app) => {
    app.get(
      "/api/positions",
      {
        config: { access: "read", vehicles: "filtered" },
        schema: {
          tags: ["live"],
          summary: "latest position of every vehicle the caller may see inside bbox (all without bbox)",
          querystring: query,
          response: {
            200: pageSchema(positionSchema),
            400: errorSchema,
          },
        },
      },
      async (req) => {
        const { bbox, limit, cursor } = req.query;
        const groups = req.principal?.groups ?? null;
        const q = { bbox, cursor, limit };
        const rows = groups === null ? await positionsPage(deps.redis, q) : await groupsPage(groups, q);
        const page = toPage(rows, limit, (last) => last.vehicleId);
        return { ...page, items: markStale(page.items, staleMs) };
      },
    );
  };
}
