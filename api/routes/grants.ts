import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { Redis } from "../../core/redis.ts";
import { type Grant, type Grantee, getGrant, setGrant, unknownGroups } from "../../core/vehicle-groups.ts";
import { errorSchema, sendError } from "../errors.ts";
import { idCursor } from "../pagination.ts";
import { groupIdsSchema, vehicleIdSchema } from "../schemas.ts";

const tags = ["access"];
export const grantSchema = z.object({
  allVehicles: z.boolean().describe("sees every vehicle (admins always do, whatever this says)"),
  groupIds: z.array(z.number().int()).describe("the vehicle groups it may see when not allVehicles"),
});
const grantBody = z.object({
  allVehicles: z.boolean().default(false),
  groupIds: groupIdsSchema,
});
const responses = { 200: grantSchema, 400: errorSchema, 404: errorSchema };

/**
 * Which vehicles a user, an API token or an MQTT integration account may see (admins only): the
 * whole fleet, or the vehicles of some groups. Takes effect at the account's next request, and
 * at once for its open /ws sockets and MQTT sessions (core/vehicle-groups.ts announces it).
 */
export function grantRoutes(deps: { pool: pg.Pool; redis: Redis }): FastifyPluginAsyncZod {
  const { pool, redis } = deps;

  async function put(req: FastifyRequest, reply: FastifyReply, who: Grantee, label: string, grant: Grant) {
    const unknown = await unknownGroups(pool, grant.groupIds);
    if (unknown.length > 0)
      return sendError(reply, "E_VALIDATION", `body.groupIds: no group ${unknown.join(", ")}`, {
        field: "body.groupIds",
      });
    const before = await getGrant(pool, who);
    const after = before && (await setGrant(pool, redis, who, grant));
    if (!after) return sendError(reply, "E_NOT_FOUND", `no ${label}`);
    req.audit.before = before;
    req.audit.after = after;
    return after;
  }

  return async (app) => {
    const config = { access: "write" as const };
    app.put(
      "/api/users/:username/access",
      {
        config,
        schema: {
          tags,
          summary: "the vehicles a user may see: the whole fleet, or these groups",
          params: z.object({ username: z.string().min(1).max(64) }),
          body: grantBody,
          response: responses,
        },
      },
      async (req, reply) =>
        put(req, reply, { user: req.params.username }, `user ${req.params.username}`, req.body),
    );
    app.put(
      "/api/tokens/:id/access",
      {
        config,
        schema: {
          tags,
          summary: "the vehicles an API token may see",
          params: z.object({ id: idCursor }),
          body: grantBody,
          response: responses,
        },
      },
      async (req, reply) => put(req, reply, { token: req.params.id }, `token ${req.params.id}`, req.body),
    );
    app.put(
      "/api/integrations/:name/access",
      {
        config,
        schema: {
          tags,
          summary: "the vehicles an MQTT integration account receives messages of (fleet/<id>/…)",
          params: z.object({ name: vehicleIdSchema }),
          body: grantBody,
          response: responses,
        },
      },
      async (req, reply) =>
        put(req, reply, { integration: req.params.name }, `integration ${req.params.name}`, req.body),
    );
  };
}
