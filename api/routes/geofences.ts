import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import { errorSchema, sendError } from "../errors.ts";
import { ifMatchHeaders, pageQuery, parseIfMatch } from "../schemas.ts";

const position = z
  .array(z.number())
  .min(2)
  .max(3)
  .refine(
    (p) => Math.abs(p[0] as number) <= 180 && Math.abs(p[1] as number) <= 90,
    "must be [lng, lat] in range",
  );
const ring = z
  .array(position)
  .min(4, "a ring needs at least 4 positions")
  .max(10_000)
  .refine((r) => {
    const a = r[0] as number[];
    const b = r.at(-1) as number[];
    return a[0] === b[0] && a[1] === b[1];
  }, "a ring must end where it starts");

const featureIn = z.object({
  type: z.literal("Feature"),
  geometry: z.object({ type: z.literal("Polygon"), coordinates: z.array(ring).min(1).max(100) }),
  properties: z.object({
    name: z.string().min(1).max(200),
    dwellSeconds: z.number().int().min(0).max(86_400).default(0).describe("inside this long before enter"),
  }),
});

const featureOut = z.object({
  type: z.literal("Feature"),
  id: z.number().int(),
  geometry: z.object({ type: z.literal("Polygon"), coordinates: z.array(z.array(z.array(z.number()))) }),
  properties: z.object({
    name: z.string(),
    dwellSeconds: z.number().int(),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  }),
});
type FeatureOut = z.infer<typeof featureOut>;

const idParams = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(2 ** 53),
});

const SELECT = `SELECT id::float8 AS id, name, dwell_seconds AS "dwellSeconds", version,
  ST_AsGeoJSON(polygon)::json AS geometry,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "updatedAt"
  FROM geofences`;

interface Row {
  id: number;
  name: string;
  dwellSeconds: number;
  version: number;
  geometry: FeatureOut["geometry"];
  createdAt: string;
  updatedAt: string;
}

const toFeature = (r: Row): FeatureOut => ({
  type: "Feature",
  id: r.id,
  geometry: r.geometry,
  properties: {
    name: r.name,
    dwellSeconds: r.dwellSeconds,
    version: r.version,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  },
});

/**
 * PostGIS's verdict on a polygon before it is stored: 'Valid Geometry', or the reason
 * ("Self-intersection[55.1 25.1]", "Too few points…"), which the client gets in the 400.
 */
async function invalidReason(pool: pg.Pool, geometry: unknown): Promise<string | undefined> {
  try {
    const r = await pool.query<{ reason: string }>(
      "SELECT ST_IsValidReason(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326)) AS reason",
      [JSON.stringify(geometry)],
    );
    const reason = r.rows[0]?.reason ?? "invalid geometry";
    return reason === "Valid Geometry" ? undefined : reason;
  } catch (err) {
    // XX000 / 22023: PostGIS could not read the geometry at all
    if ((err as { code?: string }).code?.startsWith("XX") || (err as { code?: string }).code === "22023") {
      return (err as Error).message;
    }
    throw err;
  }
}

/** Geofences as GeoJSON Features (Polygon, WGS 84), with a version for optimistic PUT. */
export function geofenceRoutes(deps: { pool: pg.Pool }): FastifyPluginAsyncZod {
  const { pool } = deps;
  const notFound = (reply: Parameters<typeof sendError>[0], id: number) =>
    sendError(reply, 404, `no geofence ${id}`);
  const badGeometry = (reply: Parameters<typeof sendError>[0], reason: string) =>
    sendError(reply, 400, `body.geometry: ${reason}`, { field: "body.geometry", reason });

  return async (app) => {
    app.get(
      "/api/geofences",
      {
        config: { access: "read" },
        schema: {
          tags: ["geofences"],
          summary: "geofences as a FeatureCollection, by id",
          querystring: pageQuery(1000, 100),
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
      async (req, reply) => {
        const { limit, cursor } = req.query;
        const after = cursor === undefined ? 0 : Number(cursor);
        if (!Number.isSafeInteger(after) || after < 0)
          return sendError(reply, 400, "querystring.cursor: invalid cursor", { field: "querystring.cursor" });
        const r = await pool.query<Row>(`${SELECT} WHERE id > $1 ORDER BY id LIMIT $2`, [after, limit + 1]);
        const page = r.rows.slice(0, limit);
        return {
          type: "FeatureCollection" as const,
          features: page.map(toFeature),
          nextCursor: r.rows.length > limit ? String(page.at(-1)?.id) : null,
        };
      },
    );

    app.get(
      "/api/geofences/:id",
      {
        config: { access: "read" },
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
        config: { access: "write" },
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
        return toFeature(row);
      },
    );

    app.put(
      "/api/geofences/:id",
      {
        config: { access: "write" },
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
          return sendError(reply, 400, "headers.if-match: must be a version number", {
            field: "headers.if-match",
          });
        const reason = await invalidReason(pool, geometry);
        if (reason) return badGeometry(reply, reason);
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
          return toFeature(row);
        }
        const cur = await pool.query<{ version: number }>("SELECT version FROM geofences WHERE id = $1", [
          req.params.id,
        ]);
        const current = cur.rows[0];
        if (!current) return notFound(reply, req.params.id);
        return sendError(reply, 409, `version ${version} is stale; the geofence is at ${current.version}`, {
          currentVersion: current.version,
        });
      },
    );

    app.delete(
      "/api/geofences/:id",
      {
        config: { access: "write" },
        schema: {
          tags: ["geofences"],
          params: idParams,
          response: { 204: z.null().describe("removed"), 400: errorSchema, 404: errorSchema },
        },
      },
      async (req, reply) => {
        const r = await pool.query("DELETE FROM geofences WHERE id = $1", [req.params.id]);
        if (r.rowCount === 0) return notFound(reply, req.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
