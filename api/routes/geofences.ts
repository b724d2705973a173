import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import { errorSchema, sendError } from "../errors.ts";
import {
  featureIn,
  featureOut,
  geofenceIdParams as idParams,
  invalidReason,
  type GeofenceRow as Row,
  GEOFENCE_SELECT as SELECT,
  toFeature,
} from "../geofence-features.ts";
import { pageQuery, toPage } from "../pagination.ts";
import { ifMatchHeaders, parseIfMatch } from "../schemas.ts";

/** the last id of the previous page; 0 starts at the first */
const idAfter = z
  .string()
  .max(128)
  .refine((s) => Number.isSafeInteger(Number(s)) && Number(s) >= 0, "invalid cursor")
  .transform(Number);

/** Geofences as GeoJSON Features (Polygon, WGS 84), with a version for optimistic PUT. */
export function geofenceRoutes(deps: { pool: pg.Pool }): FastifyPluginAsyncZod {
  const { pool } = deps;
  const notFound = (reply: Parameters<typeof sendError>[0], id: number) =>
    sendError(reply, "E_NOT_FOUND", `no geofence ${id}`);
  const featureOf = async (id: number) => {
    const row = (await pool.query<Row>(`${SELECT} WHERE id = $1`, [id])).rows[0];
    return row && toFeature(row);
  };
  const badGeometry = (reply: Parameters<typeof sendError>[0], reason: string) =>
    sendError(reply, "E_VALIDATION", `body.geometry: ${reason}`, { field: "body.geometry", reason });

  return async (app) => {
    app.get(
      "/api/geofences",
      {
        config: { access: "read", vehicles: "fleet" },
        schema: {
          tags: ["geofences"],
          summary: "geofences as a FeatureCollection, by id",
          querystring: pageQuery(1000, 100, idAfter),
          response: {
            200: z.object({
              type: z.literal("FeatureCollection"),
              features: z.array(featureOut),
              nextCursor: z.string().nullable(),
            }),
            400: errorSchema,
          },
        },
      },
      async (req) => {
        const { limit, cursor } = req.query;
        const r = await pool.query<Row>(`${SELECT} WHERE id > $1 ORDER BY id LIMIT $2`, [
          cursor ?? 0,
          limit + 1,
        ]);
        const page = toPage(r.rows, limit, (last) => String(last.id));
        return {
          type: "FeatureCollection" as const,
          features: page.items.map(toFeature),
          nextCursor: page.nextCursor,
        };
      },
    );

    app.get(
      "/api/geofences/:id",
      {
        config: { access: "read", vehicles: "fleet" },
        schema: {
          tags: ["geofences"],
          params: idParams,
          response: { 200: featureOut, 400: errorSchema, 404: errorSchema },
        },
      },
      async (req, reply) => {
        const r = await pool.query<Row>(`${SELECT} WHERE id = $1`, [req.params.id]);
        const row = r.rows[0];
        if (!row) return notFound(reply, req.params.id);
        reply.header("etag", `"${row.version}"`);
        return toFeature(row);
      },
    );

    app.post(
      "/api/geofences",
      {
        config: { access: "operate", vehicles: "fleet" },
        schema: {
          tags: ["geofences"],
          summary: "create a geofence; an invalid polygon answers 400 with PostGIS's reason",
          body: featureIn,
          response: { 201: featureOut, 400: errorSchema },
        },
      },
      async (req, reply) => {
        const { geometry, properties } = req.body;
        const reason = await invalidReason(pool, geometry);
        if (reason) return badGeometry(reply, reason);
        const r = await pool.query<Row>(
          `WITH ins AS (
             INSERT INTO geofences (name, polygon, dwell_seconds)
             VALUES ($1, ST_SetSRID(ST_GeomFromGeoJSON($2), 4326), $3) RETURNING *
           ) ${SELECT.replace("FROM geofences", "FROM ins")}`,
          [properties.name, JSON.stringify(geometry), properties.dwellSeconds],
        );
        const row = r.rows[0] as Row;
        reply.code(201).header("location", `/api/geofences/${row.id}`);
        const feature = toFeature(row);
        req.audit.entityId = String(row.id);
        req.audit.after = feature;
        return feature;
      },
    );

    app.put(
      "/api/geofences/:id",
      {
        config: { access: "operate", vehicles: "fleet" },
        schema: {
          tags: ["geofences"],
          summary: "replace a geofence; with If-Match, only if it is still at that version",
          params: idParams,
          headers: ifMatchHeaders,
          body: featureIn,
          response: { 200: featureOut, 400: errorSchema, 404: errorSchema, 409: errorSchema },
        },
      },
      async (req, reply) => {
        const { geometry, properties } = req.body;
        const version = parseIfMatch(req.headers["if-match"]);
        if (Number.isNaN(version))
          return sendError(reply, "E_VALIDATION", "headers.if-match: must be a version number", {
            field: "headers.if-match",
          });
        const reason = await invalidReason(pool, geometry);
        if (reason) return badGeometry(reply, reason);
        req.audit.before = await featureOf(req.params.id);
        const r = await pool.query<Row>(
          `WITH upd AS (
             UPDATE geofences SET name = $2, polygon = ST_SetSRID(ST_GeomFromGeoJSON($3), 4326),
               dwell_seconds = $4, version = version + 1, updated_at = now()
             WHERE id = $1 AND ($5::int IS NULL OR version = $5) RETURNING *
           ) ${SELECT.replace("FROM geofences", "FROM upd")}`,
          [
            req.params.id,
            properties.name,
            JSON.stringify(geometry),
            properties.dwellSeconds,
            version ?? null,
          ],
        );
        const row = r.rows[0];
        if (row) {
          reply.header("etag", `"${row.version}"`);
          const feature = toFeature(row);
          req.audit.after = feature;
          return feature;
        }
        const cur = await pool.query<{ version: number }>("SELECT version FROM geofences WHERE id = $1", [
          req.params.id,
        ]);
        const current = cur.rows[0];
        if (!current) return notFound(reply, req.params.id);
        return sendError(
          reply,
          "E_VERSION_CONFLICT",
          `version ${version} is stale; the geofence is at ${current.version}`,
          { currentVersion: current.version },
        );
      },
    );

    app.delete(
      "/api/geofences/:id",
      {
        config: { access: "operate", vehicles: "fleet" },
        schema: {
          tags: ["geofences"],
          params: idParams,
          response: { 204: z.null().describe("removed"), 400: errorSchema, 404: errorSchema },
        },
      },
      async (req, reply) => {
        req.audit.before = await featureOf(req.params.id);
        const r = await pool.query("DELETE FROM geofences WHERE id = $1", [req.params.id]);
        if (r.rowCount === 0) return notFound(reply, req.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
