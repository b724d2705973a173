import { z } from "zod";
import { bool, port, positiveInt } from "./fields.ts";

/** The API process: where it listens, who may call it, and what one request may ask for. */
export const httpVars = z.object({
  HTTP_PORT: port.default(8080).describe("API, UI and WebSocket"),
  HTTP_HOST: z.string().default("0.0.0.0").describe("address the API binds to"),
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
  LOGIN_RATE_LIMIT: positiveInt
    .default(10)
    .describe("POST /api/auth/login attempts per minute per client IP"),
  TRUST_PROXY: bool
    .default(false)
    .describe(
      "behind a TLS-terminating proxy: take client IP and https from X-Forwarded-* (rate limits, cookies)",
    ),
});

export const healthVars = z.object({
  QUEUE_ALERT_DEPTH: positiveInt
    .default(100_000)
    .describe("queue depth that raises the backpressure warning"),
  METRICS_PUBLIC: bool.default(true).describe("serve /metrics without credentials"),
});

export const apiLimitVars = z.object({
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
  TILE_URL: z
    .string()
    .default("https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    .describe("map tiles for the UI"),
  STALE_AFTER_SECONDS: positiveInt
    .default(300)
    .describe("a live position older than this is answered with stale: true (show it as last known)"),
});
