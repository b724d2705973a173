import { z } from "zod";
import { VEHICLE_ID_RE } from "../core/topics.ts";

/** Zod schemas shared by several routes (they also feed the OpenAPI document at /docs). */
export const vehicleIdSchema = z.string().regex(VEHICLE_ID_RE, "letters, digits, _ and -, at most 64");

export const vehicleParams = z.object({ id: vehicleIdSchema });

/** A fix's device-specific values (core/fix.ts), e.g. a Teltonika device's IO elements. */
export const fixAttributesSchema = z
  .record(z.string(), z.union([z.number(), z.string(), z.boolean()]))
  .describe("device-specific values: Teltonika IO elements as io{id}, and named ones (externalVoltage V, …)");

export const livePositionSchema = z
  .object({
    vehicleId: z.string(),
    recordedAt: z.number().describe("epoch ms"),
    lat: z.number(),
    lng: z.number(),
    speed: z.number().optional().describe("km/h"),
    heading: z.number().optional(),
    altitude: z.number().optional(),
    accuracy: z.number().optional(),
    ignition: z.boolean().optional(),
    odometer: z.number().optional(),
    attributes: fixAttributesSchema.optional(),
    receivedAt: z.number().describe("epoch ms, when the platform received the fix"),
  })
  .describe("the newest fix of a vehicle (Redis live state)");

/** `If-Match: 3`, `"3"` or `W/"3"` → 3; undefined when absent, NaN when not a version. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  return m ? Number(m[1]) : Number.NaN;
}

export const ifMatchHeaders = z.object({
  "if-match": z.string().max(32).optional().describe("the version read (optimistic locking)"),
});

const lng = z.number().min(-180).max(180);
const lat = z.number().min(-90).max(90);

/** `[west, south, east, north]`; a box across the antimeridian is refused (send two). */
export const bboxTuple = z
  .tuple([lng, lat, lng, lat])
  .refine((b) => b[0] < b[2], "west must be less than east (split a box across the antimeridian in two)")
  .refine((b) => b[1] < b[3], "south must be less than north");

/** `w,s,e,n` in a query string. */
export const bboxQuery = z
  .string()
  .max(200)
  .regex(/^[^,]+,[^,]+,[^,]+,[^,]+$/, "must be four numbers: west,south,east,north")
  .transform((s) => s.split(",").map((x) => Number(x)))
  .pipe(bboxTuple)
  .describe("west,south,east,north in degrees");

/** A list of vehicle group ids as a request gives it (grants here, a new token's limit). */
export const groupIdsSchema = z
  .array(
    z
      .number()
      .int()
      .positive()
      .max(2 ** 53),
  )
  .max(1000);
