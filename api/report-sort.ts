import { z } from "zod";

/** asc or desc; each sortable route says what its default column is. */
export const sortOrder = z.enum(["asc", "desc"]).default("asc");

/**
 * A page of a sorted report: `offset` rows skipped, `limit` answered, and the `total` matching, so
 * a table can say "101–200 of 501" and jump to a page. A keyset cursor cannot follow a sort on a
 * computed column; the reports are a fleet's rows for a range (thousands, not millions), so an
 * offset costs little.
 */
export function offsetPageQuery(max: number, fallback: number) {
  return z.object({
    limit: z.coerce.number().int().min(1).max(max).default(fallback),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0).describe("rows to skip"),
  });
}

export const offsetPageSchema = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    total: z.number().int().describe("rows matching, on every page"),
    offset: z.number().int(),
  });
