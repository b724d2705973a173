import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import { errorSchema, sendError } from "../errors.ts";
import { geofenceIdParams } from "../geofence-features.ts";
import { isoSql } from "../iso-sql.ts";

const version = z.object({
  validFrom: z.string(),
  validTo: z.string().nullable().describe("null: the current version"),
  name: z.string(),
  dwellSeconds: z.number().int(),
  geometry: z.object({ type: z.literal("Polygon"), coordinates: z.array(z.array(z.array(z.number()))) }),
});
const change = z.object({
  seq: z.number().int(),
  kind: z.enum(["create", "edit", "delete"]),
  at: z.string(),
});

/**
 * A geofence as it was: every version with its validity period, and every creation, edit and
 * deletion in commit order (sql/008_geofence_versions.sql). It answers for a deleted geofence too,
 * because its events stay and a fleet manager asks what the fence was when they fired.
 */
export function geofenceHistoryRoutes(deps: { pool: pg.Pool }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/api/geofences/:id/history",
      {
        config: { access: "read", vehicles: "fleet" },
        schema: {
          tags: ["geofences"],
          summary: "the versions of a geofence (deleted ones included) and its changes",
          params: geofenceIdParams,
          response: {
            200: z.object({
              id: z.number().int(),
              deleted: z.boolean(),
              versions: z.array(version),
              changes: z.array(change),
            }),
            400: errorSchema,
            404: errorSchema,
          },
        },
      },
      async (req, reply) => {
        const id = req.params.id;
        const [versions, changes] = await Promise.all([
          deps.pool.query<z.infer<typeof version>>(
            `SELECT ${isoSql("valid_from")} AS "validFrom", ${isoSql("valid_to")} AS "validTo", name,
               dwell_seconds AS "dwellSeconds", ST_AsGeoJSON(polygon)::json AS geometry
             FROM geofence_versions WHERE geofence_id = $1 ORDER BY valid_from`,
            [id],
          ),
          deps.pool.query<z.infer<typeof change>>(
            `SELECT seq::float8 AS seq, kind, ${isoSql("at")} AS at
             FROM geofence_changes WHERE geofence_id = $1 ORDER BY seq`,
            [id],
          ),
        ]);
        if (changes.rows.length === 0)
          return sendError(reply, "E_NOT_FOUND", `no geofence ${id}, now or before`);
        return {
          id,
          deleted: changes.rows.at(-1)?.kind === "delete",
          versions: versions.rows,
          changes: changes.rows,
        };
      },
    );
  };
}
