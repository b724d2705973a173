import { isIP } from "node:net";
import { z } from "zod";
import { bool, nonNegativeInt, port, positiveInt } from "./fields.ts";

// proxy-addr's names for address ranges: 127.0.0.1/8 and ::1; 169.254.0.0/16 and fe80::/10;
// 10/8, 172.16/12, 192.168/16 and fc00::/7
const RANGE_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

const isProxyAddress = (v: string) => {
  if (RANGE_NAMES.has(v)) return true;
  const [address = "", prefix, ...rest] = v.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
};

/**
 * Which X-Forwarded-For entries to believe: `false` none; the proxies' addresses/CIDRs (the
 * safe form: a client reaching the API directly is never taken for a proxy); or a hop count, for
 * when the API port is reachable through the proxies alone. `true` is one hop: "trust every hop"
 * made the client-written left-most entry the client's address, which anyone can rotate.
 */
const trustProxy = z
  .string()
  .trim()
  .transform((v, ctx): false | number | string[] => {
    if (v === "false" || v === "0") return false;
    if (v === "true") return 1;
    if (/^\d{1,2}$/.test(v)) return Number(v);
    const list = v
      .split(",")
      .map((a) => a.trim())
      .filter(Boolean);
    if (list.length > 0 && list.every(isProxyAddress)) return list;
    ctx.addIssue({
      code: "custom",
      message: "expected false, a hop count (true = 1), or addresses/CIDRs (loopback, uniquelocal …)",
    });
    return z.NEVER;
  });

export const httpVars = z.object({
  HTTP_PORT: port.default(8080).describe("API, UI and WebSocket"),
  HTTP_HOST: z.string().default("0.0.0.0").describe("address the API binds to"),
});

/** Traccar Client and other OsmAnd-protocol apps (api/osmand-listener.ts), in the API process. */
export const osmandVars = z.object({
  OSMAND_PORT: port
    .optional()
    .describe(
      "OsmAnd protocol (Traccar Client; its usual port is 5055) over HTTP on HTTP_HOST; off when unset. Limited per vehicle by HTTP_INGEST_RATE_LIMIT",
    ),
  OSMAND_KEY_REFUSALS_PER_MINUTE: positiveInt
    .default(10)
    .describe(
      "refused device keys a minute from one source address on OSMAND_PORT; past them its requests get 429 before any lookup, except with a key already known to this process",
    ),
});

export const accessVars = z.object({
  ADMIN_TOKEN: z
    .string()
    .min(16)
    .optional()
    .describe("first admin API token; generated into the data folder when unset"),
  CORS_ORIGINS: z
    .string()
    .default("")
    .describe("comma-separated origins allowed by CORS and on /ws; empty = same origin only"),
  SESSION_TTL_HOURS: positiveInt
    .max(24 * 365)
    .default(24)
    .describe("lifetime of a login session cookie"),
  SESSION_IDLE_MINUTES: positiveInt
    .max(60 * 24 * 365)
    .default(12 * 60)
    .describe("a login session unused this long ends (before SESSION_TTL_HOURS)"),
  LOGIN_RATE_LIMIT: positiveInt
    .default(10)
    .describe("POST /api/auth/login attempts per minute per client IP (shared by the API replicas in Redis)"),
  LOGIN_ACCOUNT_FAILURES: positiveInt
    .default(5)
    .describe("failed logins in a row for one username, from any address, before that account backs off"),
  LOGIN_BACKOFF_MAX_SECONDS: positiveInt
    .max(3600)
    .default(300)
    .describe("longest account backoff (1 s, doubling per further failure, up to this)"),
  TRUST_PROXY: trustProxy
    .default(false)
    .describe(
      "proxies whose X-Forwarded-* to believe (client IP for rate limits, https for cookies): false, their " +
        "addresses/CIDRs comma-separated (or loopback, uniquelocal), or a hop count (true = 1) if only they reach the API",
    ),
});

export const healthVars = z.object({
  QUEUE_ALERT_DEPTH: positiveInt
    .default(100_000)
    .describe("queue depth that raises the backpressure warning"),
  METRICS_PUBLIC: bool.default(false).describe("serve /metrics without credentials"),
  METRICS_TOKEN: z
    .string()
    .min(16)
    .optional()
    .describe("Bearer token a Prometheus scraper may use for /metrics (besides a viewer's or admin's login)"),
  DOCS_PUBLIC: bool.default(false).describe("serve /docs and the OpenAPI document without credentials"),
});

export const apiLimitVars = z.object({
  HTTP_MAX_CONNECTIONS_PER_ADDRESS: nonNegativeInt
    .default(1000)
    .describe(
      "open HTTP connections (WebSockets included) from one source address, counted before a byte is read; more are reset. 0 = no cap. Behind a reverse proxy every client shares its address",
    ),
  HTTP_MAX_CONNECTIONS: nonNegativeInt
    .default(10000)
    .describe(
      "open HTTP connections on this API process, all addresses together; more are reset. 0 = no cap",
    ),
  HTTP_HEADERS_TIMEOUT_MS: positiveInt
    .default(10000)
    .describe("a connection that has not sent a request's headers this long after it opened is closed"),
  HTTP_INGEST_RATE_LIMIT: positiveInt
    .default(600)
    .describe("HTTP ingest requests per minute per client IP and vehicle"),
  TRACK_MAX_DAYS: positiveInt.max(366).default(31).describe("longest from/to range of a track request"),
  TRACK_MAX_POINTS: positiveInt
    .default(100_000)
    .describe("most points a track answer holds; more asks for simplify or a shorter range"),
  TRACK_SIMPLIFY_MAX_INPUT: positiveInt
    .default(500_000)
    .describe(
      "most fixes a simplified track feeds to Douglas-Peucker; a range with more keeps every k-th (said in the answer)",
    ),
  API_STATEMENT_TIMEOUT_MS: positiveInt
    .default(15_000)
    .describe("PostgreSQL statement_timeout of the API's queries; one over it answers 503 E_QUERY_TIMEOUT"),
  WS_MAX_BUFFER_BYTES: positiveInt
    .default(1024 * 1024)
    .describe("a live WebSocket client with more unsent bytes than this is dropped"),
  WS_MAX_SOCKETS: positiveInt
    .default(10_000)
    .describe("live WebSocket connections one API process holds; more are refused (503)"),
  WS_MAX_SOCKETS_PER_USER: positiveInt
    .default(100)
    .describe(
      "live WebSocket connections per user or API token (tabs, wall screens); more are refused (429)",
    ),
  WS_MESSAGES_PER_MINUTE: positiveInt
    .default(600)
    .describe("messages a live WebSocket client may send a minute; twice as many closes it (1008)"),
});

export const uiVars = z.object({
  MAP_TILE_URL: z
    .string()
    .optional()
    .describe(
      "map tiles for the UI: an {z}/{x}/{y} URL template, or a single-file raster PMTiles basemap (a URL ending in .pmtiles, or pmtiles://URL; read with range requests); unset: MAP_PMTILES_FILE's address when that is set, else TILE_URL",
    ),
  MAP_PMTILES_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      "a raster .pmtiles file the API serves (to logged-in users, with range requests) at /api/ui/basemap.pmtiles: a self-hosted basemap with no tile server",
    ),
  TILE_URL: z
    .string()
    .default("https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    .describe("older name of MAP_TILE_URL, used when MAP_TILE_URL is unset"),
  MAP_TILE_ATTRIBUTION: z
    .string()
    .optional()
    .describe("credit shown on the map (HTML); unset: OpenStreetMap's for its tile servers, none otherwise"),
  MAP_MAX_ZOOM: positiveInt.max(24).default(19).describe("deepest zoom the map offers (the tile source's)"),
  STALE_AFTER_SECONDS: positiveInt
    .default(300)
    .describe("a live position older than this is answered with stale: true (show it as last known)"),
});
