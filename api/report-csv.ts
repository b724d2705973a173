import { Readable } from "node:stream";
import type { FastifyReply } from "fastify";
import { z } from "zod";
import { csvLine } from "./csv.ts";

/** The query of a report route that can answer CSV: the format, and the units its numbers are in. */
export const csvQuery = z.object({
  format: z.enum(["json", "csv"]).default("json").describe("csv: every matching row as a download"),
  units: z
    .enum(["metric", "imperial"])
    .default("metric")
    .describe("csv only: km and km/h, or miles and mph (the column names say which)"),
});
export type Units = z.infer<typeof csvQuery>["units"];

const M_PER_MILE = 1609.344;

/** Column names and number formats in the chosen units: every column names its unit. */
export function csvUnits(units: Units) {
  const imperial = units === "imperial";
  return {
    distance: imperial ? "distance_mi" : "distance_km",
    gapDistance: imperial ? "gap_distance_mi" : "gap_distance_km",
    speed: (name: string) => `${name}_${imperial ? "mph" : "kmh"}`,
    km: (m: number) => (m / (imperial ? M_PER_MILE : 1000)).toFixed(3),
    kmh: (v: number | null) => (v === null ? "" : (imperial ? (v * 1000) / M_PER_MILE : v).toFixed(1)),
  };
}

export const hours = (s: number) => (s / 3600).toFixed(3);
export const fixed = (v: number, digits: number) => v.toFixed(digits);

/**
 * Streams CSV: the header, then the rows of each page `next` reads (it keeps its own cursor) until
 * it answers none. The
 * first page is read before the headers go out, so a failing database answers an error, not an
 * empty file.
 */
export async function sendCsv<T>(
  reply: FastifyReply,
  filename: string,
  header: string[],
  toCells: (row: T) => (string | null)[],
  next: () => Promise<T[]>,
): Promise<FastifyReply> {
  const first = await next();
  async function* lines() {
    yield csvLine(header);
    let rows = first;
    while (rows.length > 0) {
      for (const r of rows) yield csvLine(toCells(r));
      rows = await next();
    }
  }
  reply
    .header("content-type", "text/csv; charset=utf-8")
    .header("content-disposition", `attachment; filename="${filename}"`)
    .header("cache-control", "no-store");
  return reply.send(Readable.from(lines()));
}
