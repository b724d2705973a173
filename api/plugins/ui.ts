import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import type { Config } from "../../core/config.ts";
import { sendError, sendRouteNotFound } from "../errors.ts";

export const UI_DIST = fileURLToPath(new URL("../../ui/dist", import.meta.url));

// paths the API owns: an unknown one is a 404, never the UI's index.html
const API_PATHS = /^\/(api|ws|docs|admin|health|metrics)(\/|$)/;
// a path whose last segment has an extension asks for a file; anything else is a UI route
const FILE_PATH = /\.[A-Za-z0-9]+$/;

// a source map hands out the whole UI source: the build writes none, and one put there by hand is not served
const SOURCE_MAP = /\.map$/i;

const OSM_ATTRIBUTION = '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors';

type UiSettings = Pick<
  Config,
  "TILE_URL" | "MAP_TILE_URL" | "MAP_TILE_ATTRIBUTION" | "MAP_MAX_ZOOM" | "STALE_AFTER_SECONDS" | "FLEET_TZ"
> &
  Partial<Pick<Config, "MOVING_SPEED_KMH" | "TRIP_GAP_SECONDS" | "MAP_PMTILES_FILE">>;

/** Where the API serves MAP_PMTILES_FILE (api/plugins/basemap-file.ts). */
export const BASEMAP_FILE_PATH = "/api/ui/basemap.pmtiles";

const PMTILES_SCHEME = /^pmtiles:\/\//i;
const PMTILES_FILE = /\.pmtiles(\?|$)/i;

/** The tile source the browser reads: MAP_TILE_URL, else the served MAP_PMTILES_FILE, else TILE_URL. */
export function tileSource(config: UiSettings): { url: string; format: "xyz" | "pmtiles" } {
  const given = config.MAP_TILE_URL ?? (config.MAP_PMTILES_FILE ? BASEMAP_FILE_PATH : config.TILE_URL);
  // a single-file basemap (PMTiles) is read by range requests, not as {z}/{x}/{y} tiles; the
  // pmtiles:// form (as MapLibre's protocol names it) is the same file at the URL after the scheme
  if (PMTILES_SCHEME.test(given)) return { url: given.replace(PMTILES_SCHEME, ""), format: "pmtiles" };
  return { url: given, format: PMTILES_FILE.test(given) ? "pmtiles" : "xyz" };
}

/**
 * What the page's CSP must allow beyond 'self' for the basemap: a PMTiles archive on another
 * origin is fetched (connect-src that origin, nothing wider), and its tiles are shown as blob:
 * images made in the page (img-src blob:).
 */
export function basemapCsp(config: UiSettings): { connectSrc: string[]; imgSrc: string[] } {
  const { url, format } = tileSource(config);
  if (format !== "pmtiles") return { connectSrc: [], imgSrc: [] };
  const origin = /^https?:\/\//i.test(url) ? new URL(url).origin : undefined;
  return { connectSrc: origin ? [origin] : [], imgSrc: ["blob:"] };
}

/** What the browser is told about the map (GET /api/ui/config). */
export function uiConfig(config: UiSettings) {
  const { url: tileUrl, format: tileFormat } = tileSource(config);
  return {
    tileUrl,
    tileFormat,
    tileAttribution:
      config.MAP_TILE_ATTRIBUTION ?? (tileUrl.includes("openstreetmap.org") ? OSM_ATTRIBUTION : ""),
    maxZoom: config.MAP_MAX_ZOOM,
    staleAfterSeconds: config.STALE_AFTER_SECONDS,
    fleetTimeZone: config.FLEET_TZ,
    movingSpeedKmh: config.MOVING_SPEED_KMH ?? 5,
    // history draws a silence longer than the one that ends a trip as a gap, not as a road driven
    gapSeconds: config.TRIP_GAP_SECONDS ?? 600,
  };
}

/**
 * The built UI (ui/dist, `npm run build:ui`) at `/`, on the API's origin, so the session
 * cookie (SameSite=Strict) and /ws need no CORS. A path without a file extension that is not
 * the API's is a UI route and gets index.html (single-page app). Files go out as the build's
 * brotli/gzip copies to a browser that takes them (ui/vite.config.ts writes them). Also
 * `GET /api/ui/config`: what the UI needs from the config (map tiles, staleness, fleet zone).
 */
export function uiPlugin(deps: { config: UiSettings; distDir?: string }) {
  const root = deps.distDir ?? UI_DIST;
  return async (app: FastifyInstance) => {
    app.addHook("onRoute", (route) => {
      if (route.url !== "/api/ui/config") route.config = { ...route.config, access: "public" };
    });

    app.get(
      "/api/ui/config",
      {
        config: { access: "read", vehicles: "none" },
        schema: { tags: ["ui"], summary: "map settings for the web UI" },
      },
      async () => uiConfig(deps.config),
    );

    if (!existsSync(join(root, "index.html"))) {
      app.log.info({ root }, "UI not built: run `npm run build:ui`");
      app.get("/", { schema: { hide: true } }, async (_req, reply) => sendError(reply, "E_UI_NOT_BUILT"));
      return;
    }

    // index.html is never cached (it names the current hashed bundles); the bundles are immutable
    await app.register(fastifyStatic, {
      root,
      wildcard: false,
      serve: false,
      preCompressed: true,
    });

    app.get("/*", { schema: { hide: true } }, async (req, reply) => {
      const path = req.url.split("?")[0] ?? "/";
      if (API_PATHS.test(path)) return sendRouteNotFound(reply, "GET", path);
      if (SOURCE_MAP.test(path)) return sendRouteNotFound(reply, "GET", path);
      // browsers and crawlers ask for /favicon.ico whatever the page names: the SVG answers it
      if (path === "/favicon.ico")
        return reply.header("cache-control", "max-age=86400").redirect("/favicon.svg", 301);
      if (FILE_PATH.test(path)) {
        const immutable = path.startsWith("/assets/");
        // @fastify/send decodes the path and keeps it inside root
        return reply.sendFile(path.slice(1), {
          maxAge: immutable ? "365d" : 0,
          immutable,
        });
      }
      reply.header("cache-control", "no-cache");
      // helmet's default CSP asks the browser to fetch every subresource over https; on a plain
      // http origin other than localhost (`npm start` on a LAN host) that turns /assets/* into
      // https requests that fail, and the page stays blank. Only the UI's own document drops it.
      const csp = reply.getHeader("content-security-policy");
      if (typeof csp === "string" && req.protocol === "http")
        reply.header("content-security-policy", csp.replace(/;?upgrade-insecure-requests/, ""));
      return reply.sendFile("index.html", { cacheControl: false });
    });
  };
}
