import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import { createAccountAdmin } from "../../core/account-admin.ts";
import type { Redis } from "../../core/redis.ts";
import { isUserDisabled, ROLES } from "../../core/users.ts";
import { errorSchema, sendError } from "../errors.ts";
import { vehicleIdSchema } from "../schemas.ts";

const userSchema = z.object({ id: z.number().int(), username: z.string(), role: z.enum(ROLES) });
const grantFields = {
  allVehicles: z.boolean().describe("sees every vehicle (admins always do); PUT …/access changes it"),
  groupIds: z.array(z.number().int()).describe("the vehicle groups it may see otherwise"),
};
const userRowSchema = userSchema.extend({
  ...grantFields,
  disabled: z.boolean(),
  createdAt: z.string(),
  sessions: z.number().int().describe("live login sessions"),
});
const tokenRowSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  role: z.enum(ROLES),
  ...grantFields,
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  expiresAt: z.string().nullable().describe("past it the token is refused (E_TOKEN_EXPIRED); null: never"),
});
const integrationRowSchema = z.object({ name: z.string(), ...grantFields, createdAt: z.string() });

const userParams = z.object({ username: z.string().min(1).max(64) });
const tokenParams = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(2 ** 53),
});
const integrationParams = z.object({ name: vehicleIdSchema });
const tags = ["accounts"];

/**
 * Revocation (admins only): list and revoke users, API tokens and integration accounts, and end
 * a user's sessions everywhere. Each takes effect at the next request, and open /ws sockets and
 * MQTT sessions are closed (core/account-admin.ts).
 */
export function accountRoutes(deps: { pool: pg.Pool; redis: Redis }): FastifyPluginAsyncZod {
  const accounts = createAccountAdmin(deps);
  return async (app) => {
    const write = { access: "write" as const };

    app.get(
      "/api/users",
      {
        config: write,
        schema: { tags, summary: "users", response: { 200: z.object({ items: z.array(userRowSchema) }) } },
      },
      async () => ({ items: await accounts.listUsers() }),
    );

    for (const [action, disabled] of [
      ["disable", true],
      ["enable", false],
    ] as const) {
      app.post(
        `/api/users/:username/${action}`,
        {
          config: write,
          schema: {
            tags,
            summary: disabled
              ? "disable a user: its logins are refused, its sessions and live sockets end"
              : "enable a disabled user again",
            params: userParams,
            response: { 200: userSchema, 404: errorSchema },
          },
        },
        async (req, reply) => {
          const { username } = req.params;
          const was = await isUserDisabled(deps.pool, username);
          const user = disabled ? await accounts.disableUser(username) : await accounts.enableUser(username);
          if (!user) return sendError(reply, "E_NOT_FOUND", `no user ${username}`);
          req.audit.before = { disabled: was };
          req.audit.after = { disabled };
          req.log.info({ user: username, by: req.principal?.name }, `user ${action}d`);
          return user;
        },
      );
    }

    app.delete(
      "/api/users/:username",
      {
        config: write,
        schema: {
          tags,
          summary: "delete a user; its sessions and live sockets end",
          params: userParams,
          response: { 204: z.null(), 404: errorSchema },
        },
      },
      async (req, reply) => {
        const { username } = req.params;
        if (!(await accounts.removeUser(username)))
          return sendError(reply, "E_NOT_FOUND", `no user ${username}`);
        req.log.info({ user: username, by: req.principal?.name }, "user deleted");
        return reply.code(204).send(null);
      },
    );

    app.post(
      "/api/users/:username/logout",
      {
        config: write,
        schema: {
          tags,
          summary: "log a user out everywhere: every session and live socket of it ends",
          params: userParams,
          response: { 200: z.object({ sessions: z.number().int() }), 404: errorSchema },
        },
      },
      async (req, reply) => {
        const { username } = req.params;
        const ended = await accounts.logoutUser(username);
        if (!ended) return sendError(reply, "E_NOT_FOUND", `no user ${username}`);
        req.log.info(
          { user: username, sessions: ended.sessions, by: req.principal?.name },
          "user logged out",
        );
        return { sessions: ended.sessions };
      },
    );

    app.get(
      "/api/tokens",
      {
        config: write,
        schema: {
          tags,
          summary: "API tokens (never their values), revoked ones included",
          response: { 200: z.object({ items: z.array(tokenRowSchema) }) },
        },
      },
      async () => ({ items: await accounts.listTokens() }),
    );

    app.delete(
      "/api/tokens/:id",
      {
        config: write,
        schema: {
          tags,
          summary: "revoke an API token: it is refused from now on, its sessions and live sockets end",
          params: tokenParams,
          response: { 204: z.null(), 404: errorSchema },
        },
      },
      async (req, reply) => {
        const token = await accounts.revokeToken(req.params.id);
        if (!token) return sendError(reply, "E_NOT_FOUND", `no token ${req.params.id}`);
        req.log.info({ token: token.id, name: token.name, by: req.principal?.name }, "token revoked");
        return reply.code(204).send(null);
      },
    );

    app.get(
      "/api/integrations",
      {
        config: write,
        schema: {
          tags,
          summary: "integration accounts (MQTT clients that may subscribe to fleet/#)",
          response: { 200: z.object({ items: z.array(integrationRowSchema) }) },
        },
      },
      async () => ({ items: await accounts.listIntegrations() }),
    );

    app.delete(
      "/api/integrations/:name",
      {
        config: write,
        schema: {
          tags,
          summary: "delete an integration account; its MQTT sessions are disconnected on every broker node",
          params: integrationParams,
          response: { 204: z.null(), 404: errorSchema },
        },
      },
      async (req, reply) => {
        const { name } = req.params;
        if (!(await accounts.removeIntegration(name)))
          return sendError(reply, "E_NOT_FOUND", `no integration ${name}`);
        req.log.info({ integration: name, by: req.principal?.name }, "integration deleted");
        return reply.code(204).send(null);
      },
    );
  };
}
