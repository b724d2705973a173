import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { ExternalBrokerKick } from "../../core/external-broker-kick.ts";
import { livePositions } from "../../core/live-state.ts";
import type { Redis } from "../../core/redis.ts";
import { topics } from "../../core/topics.ts";
import { createVehicleAdmin } from "../../core/vehicle-admin.ts";
import { addMembers, announceAccessChanged, unknownGroups } from "../../core/vehicle-groups.ts";
import { getVehicle, listVehicles, VehicleExistsError, type VehicleRow } from "../../core/vehicles.ts";
import {
  type ConnectionConfig,
  deviceConnectionSchema,
  deviceConnections,
  deviceHost,
} from "../device-connections.ts";
import { errorSchema, sendError } from "../errors.ts";
import { idCursor, pageQuery } from "../pagination.ts";
import { livePositionSchema, vehicleIdSchema, vehicleParams } from "../schemas.ts";

export const vehicleSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  plate: z.string().nullable(),
  imei: z.string().nullable(),
  status: z.enum(["active", "inactive", "maintenance"]),
  version: z.number().int().describe("send it back in If-Match to PATCH"),
  createdAt: z.string(),
  updatedAt: z.string(),
  online: z
    .boolean()
    .nullable()
    .describe(
      "holds an MQTT session on any broker node (after PRESENCE_GRACE_S); null: never connected over MQTT",
    ),
  onlineSince: z.string().nullable().describe("start of the current online period; null while offline"),
  lastSeenAt: z
    .string()
    .nullable()
    .describe("the later of its last connect/disconnect and its last fix received"),
  live: livePositionSchema.nullable(),
});

const credentialsSchema = z.object({
  credentials: z
    .object({
      username: z.string(),
      password: z.string(),
      deviceKey: z
        .string()
        .describe("Traccar Client / OsmAnd protocol: the app's device identifier (`id`), a secret"),
    })
    .describe("MQTT / HTTP ingest credentials and the device key, shown only in this answer"),
  mqtt: z.object({ port: z.number(), topic: z.string(), example: z.string() }),
  connections: z
    .array(deviceConnectionSchema)
    .describe(
      "how a device connects, for each enabled listener (native MQTT, TLS, WebSocket, OwnTracks, Teltonika)",
    ),
});

export const newVehicle = z.object({
  id: vehicleIdSchema,
  name: z.string().min(1).max(200).optional(),
  plate: z.string().min(1).max(32).optional(),
  imei: z
    .string()
    .regex(/^[0-9]{8,20}$/, "must be 8 to 20 digits")
    .optional(),
  groupIds: z
    .array(idCursor)
    .max(100)
    .optional()
    .describe("groups to put it in; an operator limited to groups must name one of its own"),
});

export interface VehicleRouteDeps {
  pool: pg.Pool;
  redis: Redis;
  config: ConnectionConfig;
  externalBroker?: ExternalBrokerKick | undefined;
}

/** Vehicle registry: register (credentials once), list and read with live state, remove, rotate. */
export function vehicleRoutes(deps: VehicleRouteDeps): FastifyPluginAsyncZod {
  const { pool, redis, config, externalBroker } = deps;
  const admin = createVehicleAdmin({ pool, redis, externalBroker });

  function mqttHelp(host: string, id: string, password: string) {
    const h = deviceHost(host);
    const topic = topics.location(id);
    return {
      port: config.MQTT_PORT,
      topic,
      example:
        `mosquitto_pub -h ${h} -p ${config.MQTT_PORT} -u '${id}' -P '${password}' -q 1 -t '${topic}' ` +
        `-m '{"lat":25.2,"lng":55.27,"recordedAt":"'$(date -u +%FT%TZ)'"}'`,
    };
  }

  async function withLive(rows: VehicleRow[]) {
    const live = await livePositions(
      redis,
      rows.map((r) => r.id),
    );
    return rows.map((r, i) => ({ ...r, status: r.status as "active", live: live[i] ?? null }));
  }

  return async (app) => {
    app.post(
      "/api/vehicles",
      {
        config: { access: "operate", vehicles: "filtered" },
        schema: {
          tags: ["vehicles"],
          summary: "register a vehicle; the answer holds its device credentials, shown once",
          body: newVehicle,
          response: {
            201: vehicleSchema.extend(credentialsSchema.shape),
            400: errorSchema,
            409: errorSchema,
          },
        },
      },
      async (req, reply) => {
        const groupIds = [...new Set(req.body.groupIds ?? [])];
        const own = req.principal?.groups ?? null;
        const foreign = own === null ? [] : groupIds.filter((g) => !own.includes(g));
        if ((own !== null && groupIds.length === 0) || foreign.length > 0)
          return sendError(
            reply,
            "E_VALIDATION",
            `body.groupIds: name one or more of your groups (${own?.join(", ")}), or you could not see the vehicle`,
            { field: "body.groupIds" },
          );
        const unknown = await unknownGroups(pool, groupIds);
        if (unknown.length > 0)
          return sendError(reply, "E_VALIDATION", `body.groupIds: no group ${unknown.join(", ")}`, {
            field: "body.groupIds",
          });
        try {
          const creds = await admin.register(req.body);
          for (const g of groupIds) await addMembers(pool, g, [creds.id]);
          if (groupIds.length > 0) await announceAccessChanged(redis);
          const [row] = await withLive([(await getVehicle(pool, creds.id)) as VehicleRow]);
          req.audit.entityId = creds.id;
          req.audit.after = { ...row, groupIds };
          reply.code(201).header("location", `/api/vehicles/${creds.id}`);
          return {
            ...(row as z.infer<typeof vehicleSchema>),
            credentials: { username: creds.username, password: creds.password, deviceKey: creds.deviceKey },
            mqtt: mqttHelp(req.hostname, creds.id, creds.password),
            connections: deviceConnections(config, req, { id: creds.id, imei: row?.imei ?? null }),
          };
        } catch (err) {
          if (err instanceof VehicleExistsError) return sendError(reply, "E_ALREADY_EXISTS", err.message);
          throw err;
        }
      },
    );

    app.get(
      "/api/vehicles",
      {
        config: { access: "read", vehicles: "filtered" },
        schema: {
          tags: ["vehicles"],
          summary: "vehicles by id, with their latest state",
          querystring: pageQuery(1000, 100),
          response: { 200: z.object({ items: z.array(vehicleSchema), nextCursor: z.string().nullable() }) },
        },
      },
      async (req) => {
        const { limit, cursor } = req.query;
        const rows = await listVehicles(pool, limit + 1, cursor ?? "", req.principal?.groups ?? null);
        const page = rows.slice(0, limit);
        return {
          items: await withLive(page),
          nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
        };
      },
    );

    app.get(
      "/api/vehicles/:id",
      {
        config: { access: "read", vehicles: "param" },
        schema: {
          tags: ["vehicles"],
          summary: "one vehicle with its latest state; ETag carries the version",
          params: vehicleParams,
          response: { 200: vehicleSchema, 404: errorSchema },
        },
      },
      async (req, reply) => {
        const row = await getVehicle(pool, req.params.id);
        if (!row) return sendError(reply, "E_NOT_FOUND", `no vehicle ${req.params.id}`);
        reply.header("etag", `"${row.version}"`);
        return (await withLive([row]))[0] as z.infer<typeof vehicleSchema>;
      },
    );

    app.delete(
      "/api/vehicles/:id",
      {
        config: { access: "operate", vehicles: "param" },
        schema: {
          tags: ["vehicles"],
          summary: "remove a vehicle and disconnect its live MQTT session (history is kept)",
          params: vehicleParams,
          response: { 204: z.null().describe("removed"), 404: errorSchema },
        },
      },
      async (req, reply) => {
        const id = req.params.id;
        req.audit.before = await getVehicle(pool, id);
        if (!(await admin.remove(id))) return sendError(reply, "E_NOT_FOUND", `no vehicle ${id}`);
        req.log.info({ vehicleId: id }, "vehicle removed");
        return reply.code(204).send(null);
      },
    );

    app.post(
      "/api/vehicles/:id/credentials",
      {
        config: { access: "operate", vehicles: "param" },
        schema: {
          tags: ["vehicles"],
          summary:
            "issue a new device secret and device key; the old ones stop working and live sessions are disconnected",
          params: vehicleParams,
          response: { 200: credentialsSchema, 404: errorSchema },
        },
      },
      async (req, reply) => {
        const creds = await admin.rotate(req.params.id);
        const row = creds && (await getVehicle(pool, creds.id));
        if (!creds) return sendError(reply, "E_NOT_FOUND", `no vehicle ${req.params.id}`);
        // what happened, never the new secret (the audit log is read by every admin)
        req.audit.after = "rotated";
        req.log.info({ vehicleId: creds.id }, "vehicle credentials rotated");
        return {
          credentials: { username: creds.username, password: creds.password, deviceKey: creds.deviceKey },
          mqtt: mqttHelp(req.hostname, creds.id, creds.password),
          connections: deviceConnections(config, req, { id: creds.id, imei: row ? row.imei : null }),
        };
      },
    );
  };
}
