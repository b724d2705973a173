import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { getVehicle } from "../../core/vehicles.ts";
import { sendError } from "../errors.ts";
import { vehicleParams } from "../schemas.ts";
import { checkRange, timeRangeQuery } from "../time-range.ts";
import { toCsv, toGeoJson, toGpx } from "../track-formats.ts";
import { readTrack } from "../track-query.ts";

const trackQuery = timeRangeQuery.extend({
  format: z.enum(["geojson", "gpx", "csv"]).default("geojson"),
  simplify: z.coerce
    .number()
    .min(0)
    .max(10_000)
    .optional()
    .describe(
      "Douglas-Peucker tolerance in metres; points the line does not need are left out. A range of more than TRACK_SIMPLIFY_MAX_INPUT fixes is thinned to every k-th first (properties.thinnedEvery, header X-Track-Thinned-Every)",
    ),
});

/** A vehicle's history between two times, read from the partitioned vehicle_locations. */
export function trackRoutes(deps: {
  pool: pg.Pool;
  config: Pick<Config, "TRACK_MAX_DAYS" | "TRACK_MAX_POINTS" | "TRACK_SIMPLIFY_MAX_INPUT" | "FLEET_TZ">;
}): FastifyPluginAsyncZod {
  const { pool, config } = deps;
  return async (app) => {
    app.get(
      "/api/vehicles/:id/track",
      {
        config: { access: "read", vehicles: "param" },
        schema: {
          tags: ["history"],
          summary: `history between from and to (at most ${config.TRACK_MAX_DAYS} days): GeoJSON, GPX or CSV`,
          params: vehicleParams,
          querystring: trackQuery,
        },
      },
      async (req, reply) => {
        const { id } = req.params;
        const { format, simplify } = req.query;
        const range = checkRange(req.query, config.TRACK_MAX_DAYS);
        if (typeof range === "string")
          return sendError(reply, "E_VALIDATION", range, { field: "querystring.to" });
        const { from, to } = range;
        const { points, thinnedEvery } = await readTrack(pool, {
          vehicleId: id,
          from,
          to,
          limit: config.TRACK_MAX_POINTS + 1,
          simplifyMetres: simplify,
          simplifyMaxInput: config.TRACK_SIMPLIFY_MAX_INPUT,
        });
        // history outlives a removed vehicle; only a name with neither is unknown
        if (points.length === 0 && !(await getVehicle(pool, id)))
          return sendError(reply, "E_NOT_FOUND", `no vehicle ${id}`);
        if (points.length > config.TRACK_MAX_POINTS) {
          return sendError(
            reply,
            "E_TOO_MANY_POINTS",
            `more than ${config.TRACK_MAX_POINTS} points: shorten the range or pass simplify=<metres>`,
          );
        }
        const meta = {
          vehicleId: id,
          from,
          to,
          simplified: simplify !== undefined && simplify > 0,
          thinnedEvery,
        };
        // said in every format: GeoJSON also carries it in its properties
        if (thinnedEvery > 1) reply.header("x-track-thinned-every", String(thinnedEvery));
        // the fleet day the range starts on (FLEET_TZ), the same in every format's file name
        const name = `${id}-${new Intl.DateTimeFormat("en-CA", { timeZone: config.FLEET_TZ }).format(from).slice(0, 10)}`;
        if (format === "gpx") {
          reply
            .type("application/gpx+xml")
            .header("content-disposition", `attachment; filename="${name}.gpx"`);
          return toGpx(points, meta);
        }
        if (format === "csv") {
          reply
            .type("text/csv; charset=utf-8")
            .header("content-disposition", `attachment; filename="${name}.csv"`);
          return toCsv(points);
        }
        reply
          .type("application/geo+json")
          .header("content-disposition", `attachment; filename="${name}.geojson"`);
        return JSON.stringify(toGeoJson(points, meta));
      },
    );
  };
}
