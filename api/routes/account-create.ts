import { randomBytes } from "node:crypto";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import { createAccountAdmin } from "../../core/account-admin.ts";
import { addToken, expiryProblem, MAX_TOKEN_DAYS } from "../../core/api-tokens.ts";
import type { Redis } from "../../core/redis.ts";
import { addUser, MIN_PASSWORD_LENGTH, ROLES, USERNAME_RE, UserExistsError } from "../../core/users.ts";
import { getGrant, setGrant, unknownGroups } from "../../core/vehicle-groups.ts";
import { addIntegration, getVehicle, VehicleExistsError } from "../../core/vehicles.ts";
import { errorSchema, sendError } from "../errors.ts";
import { groupIdsSchema, vehicleIdSchema } from "../schemas.ts";

const tags = ["accounts"];
const password = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `must have at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(1024)
  .optional()
  .describe("left out: a random one is made and answered once");
const userParams = z.object({ username: z.string().min(1).max(64) });

/** A password for someone to change later: 96 random bits, the CLI's `user add` does the same. */
const newPassword = () => randomBytes(12).toString("base64url");

/**
 * Creating accounts (admins only): users, a user's new password, API tokens and MQTT integration
 * accounts. A secret the server makes is in the answer once and stored only as a hash.
 */
export function accountCreateRoutes(deps: { pool: pg.Pool; redis: Redis }): FastifyPluginAsyncZod {
  const { pool } = deps;
  const accounts = createAccountAdmin(deps);
  const write = { access: "write" as const };
  return async (app) => {
    app.post(
      "/api/users",
      {
        config: write,
        schema: {
          tags,
          summary: "add a user (a fleet manager who logs in with a password)",
          body: z.object({
            username: z.string().regex(USERNAME_RE, "letters, digits and _ . @ - only, at most 64"),
            role: z.enum(ROLES),
            password,
          }),
          response: {
            201: z.object({
              id: z.number().int(),
              username: z.string(),
              role: z.enum(ROLES),
              password: z.string().optional().describe("the generated password, shown only here"),
            }),
            400: errorSchema,
            409: errorSchema,
          },
        },
      },
      async (req, reply) => {
        const pw = req.body.password ?? newPassword();
        try {
          const user = await addUser(pool, {
            username: req.body.username,
            role: req.body.role,
            password: pw,
          });
          // the password (given or made) stays out: the audit log is read by every admin
          req.audit.entityId = user.username;
          req.audit.after = { role: user.role, ...(await getGrant(pool, { user: user.username })) };
          req.log.info({ user: user.username, role: user.role, by: req.principal?.name }, "user added");
          reply.code(201);
          return { ...user, ...(req.body.password ? {} : { password: pw }) };
        } catch (err) {
          if (err instanceof UserExistsError) return sendError(reply, "E_ALREADY_EXISTS", err.message);
          throw err;
        }
      },
    );

    app.post(
      "/api/users/:username/password",
      {
        config: write,
        schema: {
          tags,
          summary: "reset a user's password; its sessions and live sockets end",
          params: userParams,
          body: z.object({ password }),
          response: {
            200: z.object({
              username: z.string(),
              password: z.string().optional().describe("the generated password, shown only here"),
            }),
            400: errorSchema,
            404: errorSchema,
          },
        },
      },
      async (req, reply) => {
        const { username } = req.params;
        const pw = req.body.password ?? newPassword();
        const user = await accounts.resetPassword(username, pw);
        if (!user) return sendError(reply, "E_NOT_FOUND", `no user ${username}`);
        req.log.info({ user: username, by: req.principal?.name }, "password reset");
        return { username, ...(req.body.password ? {} : { password: pw }) };
      },
    );

    app.post(
      "/api/tokens",
      {
        config: write,
        schema: {
          tags,
          summary: "create an API token (Authorization: Bearer); its value is answered once",
          body: z.object({
            name: z.string().trim().min(1).max(100),
            role: z.enum(ROLES),
            expiresAt: z.iso
              .datetime({ offset: true })
              .optional()
              .describe(`when it stops working (at most ${MAX_TOKEN_DAYS} days away); left out: never`),
            groupIds: groupIdsSchema
              .min(1)
              .optional()
              .describe(
                "limit it to the vehicles of these groups from its first use; left out: the whole fleet",
              ),
          }),
          response: {
            201: z.object({
              id: z.number().int(),
              name: z.string(),
              role: z.enum(ROLES),
              expiresAt: z.string().nullable(),
              token: z.string(),
            }),
            400: errorSchema,
          },
        },
      },
      async (req, reply) => {
        const { expiresAt, groupIds, ...body } = req.body;
        const at = expiresAt === undefined ? null : new Date(expiresAt);
        const wrong = at && expiryProblem(at);
        if (wrong)
          return sendError(reply, "E_VALIDATION", `body.expiresAt: ${wrong}`, { field: "body.expiresAt" });
        const unknown = groupIds ? await unknownGroups(pool, groupIds) : [];
        if (unknown.length > 0)
          return sendError(reply, "E_VALIDATION", `there is no group ${unknown.join(", ")}`, {
            field: "body.groupIds",
          });
        const t = await addToken(pool, { ...body, expiresAt: at });
        // limited before its value leaves this answer: no request can use it with more
        const grant = groupIds
          ? await setGrant(pool, deps.redis, { token: t.id }, { allVehicles: false, groupIds })
          : await getGrant(pool, { token: t.id });
        req.audit.entityId = String(t.id);
        req.audit.after = { id: t.id, name: t.name, role: t.role, expiresAt: t.expiresAt, ...grant };
        req.log.info(
          { token: t.id, name: t.name, role: t.role, expiresAt: t.expiresAt, by: req.principal?.name },
          "token created",
        );
        reply.code(201);
        return t;
      },
    );

    app.post(
      "/api/integrations",
      {
        config: write,
        schema: {
          tags,
          summary:
            "create an integration account (an MQTT client that may subscribe to fleet/#); password once",
          body: z.object({ name: vehicleIdSchema }),
          response: {
            201: z.object({ name: z.string(), username: z.string(), password: z.string() }),
            400: errorSchema,
            409: errorSchema,
          },
        },
      },
      async (req, reply) => {
        // vehicles and integrations share the MQTT username space, where a vehicle wins
        // (getMqttAccount): an integration named like one could never log in
        if (await getVehicle(pool, req.body.name))
          return sendError(reply, "E_ALREADY_EXISTS", `a vehicle is named ${req.body.name}`);
        try {
          const creds = await addIntegration(pool, req.body.name);
          req.log.info({ integration: req.body.name, by: req.principal?.name }, "integration created");
          reply.code(201);
          return { name: req.body.name, ...creds };
        } catch (err) {
          if (err instanceof VehicleExistsError) return sendError(reply, "E_ALREADY_EXISTS", err.message);
          throw err;
        }
      },
    );
  };
}
