import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { ExternalBrokerKick } from "../../core/external-broker-kick.ts";
import { livePositions } from "../../core/live-state.ts";
import type { Redis } from "../../core/redis.ts";
import { createVehicleAdmin } from "../../core/vehicle-admin.ts";
import { getVehicle, type VehicleRow } from "../../core/vehicles.ts";
import { errorSchema, sendError } from "../errors.ts";
import { ifMatchHeaders, parseIfMatch, vehicleParams } from "../schemas.ts";
import { vehicleSchema } from "./vehicles.ts";

const patchBody = z
  .strictObject({
    name: z.string().min(1).max(200).nullable().optional(),
    plate: z.string().min(1).max(32).nullable().optional(),
    status: z.enum(["active", "inactive", "maintenance"]).optional(),
    // the rule of POST /api/vehicles; null removes it
    imei: z
      .string()
      .regex(/^[0-9]{8,20}$/, "must be 8 to 20 digits")
      .nullable()
      .optional(),
  })
  .refine((b) => Object.keys(b).length > 0, "name, plate, status or imei is required");

// Column names come from this fixed list, never from the request.
const COLUMNS = ["name", "plate", "status", "imei"] as const;

/**
 * PATCH with optimistic locking: the UPDATE matches only the version the client read
 * (If-Match), so of two concurrent edits of the same version the second matches no row
 * (PostgreSQL re-checks the WHERE after the first commits) and answers 409.
 */
export function vehiclePatchRoutes(deps: {
  pool: pg.Pool;
  redis: Redis;
  externalBroker?: ExternalBrokerKick | undefined;
}): FastifyPluginAsyncZod {
  const { pool, redis, externalBroker } = deps;
  const admin = createVehicleAdmin({ pool, redis, externalBroker });
  return async (app) => {
    app.patch(
      "/api/vehicles/:id",
      {
        config: { access: "operate", vehicles: "param" },
        schema: {
          tags: ["vehicles"],
          summary:
            "update name, plate, status or IMEI; If-Match: <version> is required; an IMEI another vehicle has is 409",
          params: vehicleParams,
          headers: ifMatchHeaders,
          body: patchBody,
          response: {
            200: vehicleSchema,
            400: errorSchema,
            404: errorSchema,
            409: errorSchema.extend({ currentVersion: z.number().int().optional() }),
            428: errorSchema,
          },
        },
      },
      async (req, reply) => {
        const id = req.params.id;
        const version = parseIfMatch(req.headers["if-match"]);
        if (version === undefined) return sendError(reply, "E_PRECONDITION_REQUIRED");
        if (Number.isNaN(version))
          return sendError(reply, "E_VALIDATION", "headers.if-match: must be a version number", {
            field: "headers.if-match",
          });
        const sets: string[] = [];
        const values: unknown[] = [id, version];
        for (const col of COLUMNS) {
          if (req.body[col] === undefined) continue;
          values.push(req.body[col]);
          sets.push(`${col} = $${values.length}`);
        }
        req.audit.before = await getVehicle(pool, id);
        // `old` reads the statement's snapshot: when the version matches, that is the row replaced
        const r = await pool
          .query<{ old: string; oldImei: string | null }>(
            `WITH old AS (SELECT status, imei FROM vehicles WHERE id = $1)
             UPDATE vehicles SET ${sets.join(", ")}, version = version + 1, updated_at = now()
             WHERE id = $1 AND version = $2
             RETURNING (SELECT status FROM old) AS old, (SELECT imei FROM old) AS "oldImei"`,
            values,
          )
          .catch((err: unknown) => {
            // vehicles.imei is UNIQUE: the only unique column a PATCH sets
            if ((err as { code?: string }).code === "23505") return undefined;
            throw err;
          });
        if (r === undefined)
          return sendError(
            reply,
            "E_ALREADY_EXISTS",
            `IMEI ${req.body.imei} is registered to another vehicle`,
          );
        if (r.rowCount === 0) {
          const current = await getVehicle(pool, id);
          if (!current) return sendError(reply, "E_NOT_FOUND", `no vehicle ${id}`);
          reply.header("etag", `"${current.version}"`);
          return sendError(
            reply,
            "E_VERSION_CONFLICT",
            `version ${version} is stale; the vehicle is at ${current.version}`,
            { currentVersion: current.version },
          );
        }
        if (req.body.status !== undefined) await admin.statusChanged(id, r.rows[0]?.old, req.body.status);
        if (req.body.imei !== undefined)
          await admin.imeiChanged(id, r.rows[0]?.oldImei ?? null, req.body.imei);
        const row = (await getVehicle(pool, id)) as VehicleRow;
        req.audit.after = row;
        const [live] = await livePositions(redis, [id]);
        reply.header("etag", `"${row.version}"`);
        req.log.info({ vehicleId: id, version: row.version }, "vehicle updated");
        return { ...row, status: row.status as "active", live: live ?? null };
      },
    );
  };
}
