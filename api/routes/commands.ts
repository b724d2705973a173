import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import {
  type CommandRow,
  codec12Problem,
  createCommand,
  getCommand,
  listCommands,
  UUID_RE,
} from "../../core/commands.ts";
import { publishControl } from "../../core/control.ts";
import type { Redis } from "../../core/redis.ts";
import { topics } from "../../core/topics.ts";
import { getVehicle } from "../../core/vehicles.ts";
import { errorSchema, sendError } from "../errors.ts";
import { pageQuery, pageSchema, toPage } from "../pagination.ts";
import { vehicleParams } from "../schemas.ts";

/** A command's payload kept in the audit log: as sent, or its first 1000 characters of JSON. */
const AUDIT_PAYLOAD_CHARS = 1000;
function auditPayload(payload: unknown): unknown {
  const text = JSON.stringify(payload) ?? "";
  return text.length <= AUDIT_PAYLOAD_CHARS
    ? payload
    : { truncated: `${text.slice(0, AUDIT_PAYLOAD_CHARS)}…`, chars: text.length };
}

const commandSchema = z.object({
  id: z.string().describe("commandId: the device answers with it on fleet/{id}/commands/ack"),
  vehicleId: z.string(),
  payload: z.unknown().describe("what the device receives, as {commandId, payload}"),
  status: z
    .enum(["pending", "delivered", "acked", "failed"])
    .describe("pending → delivered (device PUBACK) → acked (answer ok) | failed (answer error)"),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
  ackedAt: z.string().nullable(),
  response: z.unknown().describe("the device's response, when it answered"),
});

const newCommand = z.object({
  payload: z
    .unknown()
    .refine((v) => v !== undefined, "required")
    .describe('any JSON value, e.g. {"action":"reportLocation"}'),
});

const commandParams = vehicleParams.extend({ commandId: z.string().regex(UUID_RE, "must be a command id") });

const listQuery = pageQuery(
  1000,
  100,
  z.string().regex(UUID_RE, "must be the nextCursor of the previous page"),
);

const asBody = (c: CommandRow) => c as z.infer<typeof commandSchema>;

/**
 * Downlink: a command is stored, then every broker node is told over Redis (the API is not the
 * broker); one node publishes it at QoS 1 on fleet/{id}/commands, where a persistent session
 * keeps it until the device reconnects. The device's PUBACK and its answer on
 * fleet/{id}/commands/ack move the status (broker/command-downlink.ts, broker/command-ack.ts).
 */
export function commandRoutes(deps: { pool: pg.Pool; redis: Redis }): FastifyPluginAsyncZod {
  const { pool, redis } = deps;
  return async (app) => {
    app.post(
      "/api/vehicles/:id/commands",
      {
        config: { access: "operate", vehicles: "param" },
        bodyLimit: 64 * 1024,
        schema: {
          tags: ["commands"],
          summary: `send a command to a vehicle: published at QoS 1 on ${topics.commands("{id}")}`,
          params: vehicleParams,
          body: newCommand,
          response: {
            202: commandSchema.extend({
              brokersNotified: z
                .number()
                .int()
                .describe("broker nodes that heard of it; 0: none is running, it stays pending"),
            }),
            400: errorSchema,
            404: errorSchema,
          },
        },
      },
      async (req, reply) => {
        const { id } = req.params;
        const { payload } = req.body;
        // a text to a vehicle with an IMEI is a Teltonika command: over TCP it can only go as
        // Codec 12, so one that cannot would stay pending there for ever (docs/devices.md)
        if (typeof payload === "string") {
          const problem = codec12Problem(payload);
          if (problem && (await getVehicle(pool, id))?.imei)
            return sendError(
              reply,
              "E_VALIDATION",
              `body.payload: a text command to a Teltonika device (the vehicle has an IMEI) must be printable ASCII, 1 to 512 characters, for Codec 12; this one ${problem}`,
              { field: "body.payload" },
            );
        }
        const command = await createCommand(pool, id, payload);
        if (!command) return sendError(reply, "E_NOT_FOUND", `no vehicle ${id}`);
        const brokersNotified = await publishControl(redis, {
          type: "command",
          vehicleId: id,
          commandId: command.id,
          payload: command.payload,
        });
        if (brokersNotified === 0)
          req.log.warn({ vehicleId: id, commandId: command.id }, "no broker heard the command");
        req.audit.after = { commandId: command.id, payload: auditPayload(command.payload) };
        req.log.info({ vehicleId: id, commandId: command.id }, "command created");
        reply.code(202).header("location", `/api/vehicles/${id}/commands/${command.id}`);
        return { ...asBody(command), brokersNotified };
      },
    );

    app.get(
      "/api/vehicles/:id/commands",
      {
        config: { access: "read", vehicles: "param" },
        schema: {
          tags: ["commands"],
          summary: "a vehicle's commands and their status, newest first",
          params: vehicleParams,
          querystring: listQuery,
          response: {
            200: pageSchema(commandSchema),
            400: errorSchema,
            404: errorSchema,
          },
        },
      },
      async (req, reply) => {
        const { id } = req.params;
        const { limit, cursor } = req.query;
        if (!(await getVehicle(pool, id))) return sendError(reply, "E_NOT_FOUND", `no vehicle ${id}`);
        const rows = await listCommands(pool, id, limit + 1, cursor);
        const page = toPage(rows, limit, (last) => last.id);
        return { ...page, items: page.items.map(asBody) };
      },
    );

    app.get(
      "/api/vehicles/:id/commands/:commandId",
      {
        config: { access: "read", vehicles: "param" },
        schema: {
          tags: ["commands"],
          summary: "one command and its status",
          params: commandParams,
          response: { 200: commandSchema, 400: errorSchema, 404: errorSchema },
        },
      },
      async (req, reply) => {
        const command = await getCommand(pool, req.params.id, req.params.commandId);
        if (!command)
          return sendError(reply, "E_NOT_FOUND", `no command ${req.params.commandId} for ${req.params.id}`);
        return asBody(command);
      },
    );
  };
}
