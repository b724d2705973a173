import type pg from "pg";
import { z } from "zod";

/** Geofences in PostGIS as GeoJSON Features: request/answer schemas, the row mapping, validation. */
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

export const featureIn = z.object({
  type: z.literal("Feature"),
  geometry: z.object({ type: z.literal("Polygon"), coordinates: z.array(ring).min(1).max(100) }),
  properties: z.object({
    name: z.string().min(1).max(200),
    dwellSeconds: z.number().int().min(0).max(86_400).default(0).describe("inside this long before enter"),
  }),
});

export const featureOut = z.object({
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
export type FeatureOut = z.infer<typeof featureOut>;

export const geofenceIdParams = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(2 ** 53),
});

export const GEOFENCE_SELECT = `SELECT id::float8 AS id, name, dwell_seconds AS "dwellSeconds", version,
  ST_AsGeoJSON(polygon)::json AS geometry,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "updatedAt"
  FROM geofences`;

export interface GeofenceRow {
  id: number;
  name: string;
  dwellSeconds: number;
  version: number;
  geometry: FeatureOut["geometry"];
  createdAt: string;
  updatedAt: string;
}

export const toFeature = (r: GeofenceRow): FeatureOut => ({
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
export async function invalidReason(pool: pg.Pool, geometry: unknown): Promise<string | undefined> {
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
