import { z } from "zod";

/** The last key (vehicle id, …) of the previous page, for lists ordered by that key. */
export const keyCursor = z.string().max(128);

/**
 * Keyset cursors `<epoch ms>.<id>` over (time, id): stable while rows are added, and what an index
 * on (…, time) answers without OFFSET.
 */
export const timeCursor = z
  .string()
  .regex(/^\d{1,15}\.\d{1,18}$/, "not a cursor of this list")
  .transform((s) => {
    const [t, id] = s.split(".");
    return { t: new Date(Number(t)), id: id as string };
  });
export const timeCursorOf = (t: string, id: number) => `${Date.parse(t)}.${id}`;

/** A row id, for lists ordered by id, newest first. */
export const idCursor = z.coerce
  .number()
  .int()
  .positive()
  .max(2 ** 53);

/**
 * The query every list takes: `limit` (1 to `max`, `fallback` when absent) and an optional `cursor`,
 * the previous answer's `nextCursor` (a key by default); a route extends it with its filters.
 */
export function pageQuery<C extends z.ZodType = typeof keyCursor>(
  max: number,
  fallback: number,
  cursor: C = keyCursor as unknown as C,
) {
  return z.object({
    limit: z.coerce.number().int().min(1).max(max).default(fallback),
    cursor: cursor.optional().describe("nextCursor of the previous page"),
  });
}

/** The answer's schema: a page of `item`s. */
export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable().describe("null on the last page") });

export interface Page<T> {
  items: T[];
  /** null on the last page */
  nextCursor: string | null;
}

/** The page of rows read with `LIMIT limit + 1`: an extra row only says that a next page exists. */
export function toPage<T>(rows: T[], limit: number, cursorOf: (last: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}
