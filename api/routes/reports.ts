import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import { errorSchema, sendError } from "../errors.ts";
import { pageQuery, pageSchema, timeCursor, timeCursorOf } from "../pagination.ts";
import { csvQuery, csvUnits, fixed, hours, sendCsv } from "../report-csv.ts";
import {
  type ReportKind,
  readReport,
  type StopRow,
  stopSchema,
  type TripRow,
  tripSchema,
} from "../report-query.ts";
import { sortOrder } from "../report-sort.ts";
import { vehicleIdSchema } from "../schemas.ts";
import { checkRange, timeRangeQuery } from "../time-range.ts";

const MAX_RANGE_DAYS = 366;
const EXPORT_PAGE = 5000;
/** rows of a sorted CSV export: each of its pages sorts the whole range again */
const MAX_SORTED_EXPORT = 100_000;

const listQuery = (sorts: readonly [string, ...string[]]) =>
  pageQuery(1000, 200, timeCursor)
    .extend({
      ...timeRangeQuery.shape,
      vehicleId: vehicleIdSchema.optional().describe("one vehicle; all when absent"),
      sort: z
        .enum(sorts)
        .optional()
        .describe("sorted and paged by offset (the answer has total); oldest first by cursor when absent"),
      order: sortOrder,
      offset: z.coerce.number().int().min(0).max(1_000_000).optional().describe("with sort: rows to skip"),
    })
    .extend(csvQuery.shape);

const answer = <T extends z.ZodType>(item: T) =>
  pageSchema(item).extend({
    total: z.number().int().optional().describe("with sort: rows matching"),
    offset: z.number().int().optional(),
  });

const CSV = {
  trips: {
    header: (u: ReturnType<typeof csvUnits>) => [
      "vehicleId",
      "startedAt",
      "endedAt",
      "duration_h",
      u.distance,
      u.speed("avg_speed"),
      u.speed("max_speed"),
      "start_lat",
      "start_lng",
      "end_lat",
      "end_lng",
    ],
    cells: (u: ReturnType<typeof csvUnits>, t: TripRow) => [
      t.vehicleId,
      t.startedAt,
      t.endedAt,
      hours(t.durationS),
      u.km(t.distanceM),
      u.kmh(t.avgSpeedKmh),
      u.kmh(t.maxSpeedKmh),
      fixed(t.start.lat, 6),
      fixed(t.start.lng, 6),
      fixed(t.end.lat, 6),
      fixed(t.end.lng, 6),
    ],
  },
  stops: {
    header: () => ["vehicleId", "startedAt", "endedAt", "duration_h", "lat", "lng"],
    cells: (_: unknown, s: StopRow) => [
      s.vehicleId,
      s.startedAt,
      s.endedAt,
      hours(s.durationS),
      fixed(s.lat, 6),
      fixed(s.lng, 6),
    ],
  },
};

/**
 * Trips and stops derived by the worker from ignition and speed (worker/derive/vehicle-machine.ts):
 * those overlapping [from, to), oldest first, or sorted by a column and paged by offset, or every
 * one as CSV. Late fixes re-derive them, so a report asked again after a truck's late upload shows
 * the trips that really happened.
 */
export function reportRoutes(deps: { pool: pg.Pool }): FastifyPluginAsyncZod {
  const { pool } = deps;
  return async (app) => {
    const route = <K extends ReportKind>(
      kind: K,
      sorts: readonly [string, ...string[]],
      item: z.ZodType,
      summary: string,
    ) =>
      app.get(
        `/api/reports/${kind}`,
        {
          config: { access: "read", vehicles: "filtered" },
          schema: {
            tags: ["reports"],
            summary,
            querystring: listQuery(sorts),
            response: { 200: answer(item), 400: errorSchema },
          },
        },
        async (req, reply) => {
          const range = checkRange(req.query, MAX_RANGE_DAYS);
          if (typeof range === "string")
            return sendError(reply, "E_VALIDATION", range, { field: "querystring.to" });
          const { vehicleId, limit, cursor, sort, order, offset, format, units } = req.query;
          const base = {
            ...range,
            vehicleId: vehicleId ?? null,
            groups: req.principal?.groups ?? null,
            sort: sort ?? "startedAt",
            order: sort ? order : ("asc" as const),
          };
          if (format === "csv") {
            // a sorted export re-sorts the range for each page: bounded, where oldest first is not
            if (sort) {
              const { total } = await readReport(pool, kind, { ...base, limit: 1, offset: 0 });
              if (total > MAX_SORTED_EXPORT)
                return sendError(
                  reply,
                  "E_VALIDATION",
                  `querystring.sort: a sorted export may hold at most ${MAX_SORTED_EXPORT} rows`,
                  {
                    field: "querystring.sort",
                    reason: `a sorted export may hold at most ${MAX_SORTED_EXPORT} rows and this one has ${total}: export it by start time (no sort) or shorten the range`,
                  },
                );
            }
            const u = csvUnits(units);
            // oldest first follows the keyset cursor (the index on started_at); a sort, offsets
            let off = 0;
            let after: { t: Date; id: string } | undefined;
            const name = `${kind}-${range.from.toISOString().slice(0, 10)}.csv`;
            return sendCsv<TripRow & StopRow>(
              reply,
              name,
              CSV[kind].header(u),
              (r) => CSV[kind].cells(u, r),
              async () => {
                const page = await readReport(pool, kind, {
                  ...base,
                  limit: EXPORT_PAGE,
                  offset: sort ? off : 0,
                  cursor: after,
                });
                off += EXPORT_PAGE;
                const last = page.items.at(-1);
                if (!sort && last) after = { t: new Date(last.startedAt), id: String(last.id) };
                return page.items as (TripRow & StopRow)[];
              },
            );
          }
          if (sort || offset !== undefined) {
            const page = await readReport(pool, kind, { ...base, limit, offset: offset ?? 0 });
            return { ...page, offset: offset ?? 0, nextCursor: null };
          }
          const page = await readReport(pool, kind, { ...base, limit: limit + 1, offset: 0, cursor });
          const items = page.items.slice(0, limit);
          const last = items.at(-1);
          return {
            items,
            nextCursor: page.items.length > limit && last ? timeCursorOf(last.startedAt, last.id) : null,
          };
        },
      );
    route(
      "trips",
      ["startedAt", "vehicleId", "duration", "distance", "avgSpeed", "maxSpeed"],
      tripSchema,
      "trips overlapping from/to (one vehicle or all): oldest first, or sorted and paged, or CSV",
    );
    route(
      "stops",
      ["startedAt", "vehicleId", "duration"],
      stopSchema,
      "stops (time between two trips) overlapping from/to: oldest first, or sorted and paged, or CSV",
    );
  };
}
