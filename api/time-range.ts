import { z } from "zod";

const DAY_MS = 86_400_000;

/** `from` and `to` (ISO-8601 with offset; to exclusive), both required. */
export const timeRangeQuery = z.object({
  from: z.iso.datetime({ offset: true }).describe("start, inclusive (ISO-8601)"),
  to: z.iso.datetime({ offset: true }).describe("end, exclusive (ISO-8601)"),
});

/**
 * The Dates, or why `to` is unusable (the 400's message; its field is `querystring.to`): not after
 * `from`, or more than `maxDays` after it.
 */
export function checkRange(
  q: { from: string; to: string },
  maxDays: number,
): { from: Date; to: Date } | string {
  const from = new Date(q.from);
  const to = new Date(q.to);
  if (to <= from) return "querystring.to: must be after from";
  if (to.getTime() - from.getTime() > maxDays * DAY_MS)
    return `querystring.to: the range may span at most ${maxDays} days`;
  return { from, to };
}
