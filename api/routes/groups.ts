import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { Redis } from "../../core/redis.ts";
import {
  addMembers,
  announceAccessChanged,
  createGroup,
  deleteGroup,
  GroupExistsError,
  getGroup,
  listGroups,
  removeMember,
  renameGroup,
  unknownVehicles,
} from "../../core/vehicle-groups.ts";
import { errorSchema, sendError } from "../errors.ts";
import { idCursor } from "../pagination.ts";
import { vehicleIdSchema } from "../schemas.ts";

const tags = ["access"];
const groupSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  vehicles: z.number().int().describe("how many vehicles are members"),
});
const groupDetail = groupSchema.extend({ vehicleIds: z.array(z.string()).describe("members, sorted") });
const groupBody = z.object({ name: z.string().trim().min(1).max(100) });
const idParams = z.object({ id: idCursor });
const memberParams = idParams.extend({ vehicleId: vehicleIdSchema });
const membersBody = z.object({ vehicleIds: z.array(vehicleIdSchema).min(1).max(10_000) });

/**
 * Vehicle groups (core/vehicle-groups.ts): admins create, rename and delete them and choose their
 * members; every role lists the groups it may see (admins every group). A change is announced
 * so open /ws sockets and integration sessions re-read what they may see.
 */
export function groupRoutes(deps: { pool: pg.Pool; redis: Redis }): FastifyPluginAsyncZod {
  const { pool, redis } = deps;
  const admin = { access: "write" as const };
  return async (app) => {
    app.get(
      "/api/groups",
      {
        config: { access: "read", vehicles: "filtered" },
        schema: {
          tags,
          summary: "vehicle groups: every group for an admin, the caller's own groups otherwise",
          response: { 200: z.object({ items: z.array(groupSchema) }) },
        },
      },
      async (req) => ({ items: await listGroups(pool, req.principal?.groups ?? null) }),
    );

    app.get(
      "/api/groups/:id",
      {
        config: { access: "read", vehicles: "filtered" },
        schema: {
          tags,
          params: idParams,
          response: { 200: groupDetail, 400: errorSchema, 404: errorSchema },
        },
      },
      async (req, reply) => {
        const groups = req.principal?.groups ?? null;
        const group =
          groups === null || groups.includes(req.params.id) ? await getGroup(pool, req.params.id) : undefined;
        return group ?? sendError(reply, "E_NOT_FOUND", `no group ${req.params.id}`);
      },
    );

    app.post(
      "/api/groups",
      {
        config: admin,
        schema: { tags, body: groupBody, response: { 201: groupSchema, 400: errorSchema, 409: errorSchema } },
      },
      async (req, reply) => {
        try {
          const group = await createGroup(pool, req.body.name);
          req.audit.entityId = String(group.id);
          req.audit.after = group;
          reply.code(201).header("location", `/api/groups/${group.id}`);
          return group;
        } catch (err) {
          if (err instanceof GroupExistsError) return sendError(reply, "E_ALREADY_EXISTS", err.message);
          throw err;
        }
      },
    );

    app.patch(
      "/api/groups/:id",
      {
        config: admin,
        schema: {
          tags,
          summary: "rename a group",
          params: idParams,
          body: groupBody,
          response: { 200: groupSchema, 400: errorSchema, 404: errorSchema, 409: errorSchema },
        },
      },
      async (req, reply) => {
        const before = await getGroup(pool, req.params.id);
        if (!before) return sendError(reply, "E_NOT_FOUND", `no group ${req.params.id}`);
        try {
          await renameGroup(pool, req.params.id, req.body.name);
        } catch (err) {
          if (err instanceof GroupExistsError) return sendError(reply, "E_ALREADY_EXISTS", err.message);
          throw err;
        }
        const { vehicleIds: _, ...after } = { ...before, name: req.body.name };
        req.audit.before = { id: before.id, name: before.name };
        req.audit.after = { id: after.id, name: after.name };
        return after;
      },
    );

    app.delete(
      "/api/groups/:id",
      {
        config: admin,
        schema: {
          tags,
          summary: "delete a group: its members and the grants of it go; the vehicles stay",
          params: idParams,
          response: { 204: z.null(), 400: errorSchema, 404: errorSchema },
        },
      },
      async (req, reply) => {
        const before = await getGroup(pool, req.params.id);
        if (!before || !(await deleteGroup(pool, req.params.id)))
          return sendError(reply, "E_NOT_FOUND", `no group ${req.params.id}`);
        req.audit.before = before;
        await announceAccessChanged(redis);
        return reply.code(204).send(null);
      },
    );

    app.post(
      "/api/groups/:id/vehicles",
      {
        config: admin,
        schema: {
          tags,
          summary: "add vehicles to a group (members already in it are kept)",
          params: idParams,
          body: membersBody,
          response: {
            200: groupSchema.extend({ added: z.number().int() }),
            400: errorSchema,
            404: errorSchema,
          },
        },
      },
      async (req, reply) => {
        req.audit.params = { vehicleIds: req.body.vehicleIds };
        const before = await getGroup(pool, req.params.id);
        if (!before) return sendError(reply, "E_NOT_FOUND", `no group ${req.params.id}`);
        const unknown = await unknownVehicles(pool, req.body.vehicleIds);
        if (unknown.length > 0)
          return sendError(
            reply,
            "E_VALIDATION",
            `${unknown.length === 1 ? "there is no vehicle" : "there are no vehicles"} ${unknown.slice(0, 10).join(", ")}`,
            {
              field: "body.vehicleIds",
            },
          );
        const added = await addMembers(pool, req.params.id, req.body.vehicleIds);
        if (added > 0) await announceAccessChanged(redis);
        // of the vehicles asked for, those in the group before and after: the change in short
        const asked = [...new Set(req.body.vehicleIds)];
        const had = new Set(before.vehicleIds);
        req.audit.params = { vehicleIds: req.body.vehicleIds, group: before.name };
        req.audit.before = { vehicleIds: asked.filter((v) => had.has(v)), vehicles: before.vehicles };
        req.audit.after = { vehicleIds: asked, vehicles: before.vehicles + added };
        return { id: before.id, name: before.name, vehicles: before.vehicles + added, added };
      },
    );

    app.delete(
      "/api/groups/:id/vehicles/:vehicleId",
      {
        config: admin,
        schema: {
          tags,
          summary: "remove a vehicle from a group",
          params: memberParams,
          response: { 204: z.null(), 400: errorSchema, 404: errorSchema },
        },
      },
      async (req, reply) => {
        const { id, vehicleId } = req.params;
        const group = await getGroup(pool, id);
        if (group) req.audit.params = { group: group.name };
        if (!group || !(await removeMember(pool, id, vehicleId)))
          return sendError(reply, "E_NOT_FOUND", `vehicle ${vehicleId} is not in group ${id}`);
        req.audit.before = { vehicleIds: [vehicleId] };
        req.audit.after = { vehicleIds: [] };
        await announceAccessChanged(redis);
        return reply.code(204).send(null);
      },
    );
  };
}
