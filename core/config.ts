import { z } from "zod";
import { DEFAULT_QUEUE_PARTITIONS } from "./queues.ts";

/**
 * The one configuration schema. Every process parses `process.env` once, at start, through
 * `loadConfig`; code receives the typed result and never reads `process.env` itself.
 * README's configuration table mirrors the descriptions below.
 */
const port = z.coerce.number().int().min(0).max(65535);
const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const positiveInt = z.coerce.number().int().positive();

export const configSchema = z.object({
  DATABASE_URL: z
    .string()
    .url()
    .describe("PostgreSQL+PostGIS connection string (set by scripts/services locally)"),
  REDIS_URL: z.string().url().describe("Redis connection string (set by scripts/services locally)"),
  MQTT_PORT: port.default(1883).describe("MQTT over TCP"),
  MQTT_WS_PORT: port.default(8083).describe("MQTT over WebSocket"),
  MQTT_TLS_PORT: port.optional().describe("MQTT over TLS; off when unset"),
  MQTT_TLS_CERT: z.string().optional().describe("PEM certificate file for MQTT_TLS_PORT"),
  MQTT_TLS_KEY: z.string().optional().describe("PEM key file for MQTT_TLS_PORT"),
  MQTT_HOST: z.string().default("0.0.0.0").describe("address the broker listeners bind to"),
  HTTP_PORT: port.default(8080).describe("API, UI and WebSocket"),
  HTTP_HOST: z.string().default("0.0.0.0").describe("address the API binds to"),
  BATCH_SIZE: positiveInt.max(50_000).default(500).describe("bridge batch flush: fixes per BullMQ job"),
  BATCH_MS: positiveInt.max(10_000).default(20).describe("bridge batch flush: longest wait in ms"),
  KEEPALIVE_S: positiveInt.default(60).describe("keepalive the devices are expected to use, seconds"),
  HOLD_CAP_MS: positiveInt
    .optional()
    .describe("longest a PUBACK is held while the queue is unavailable; default 1.2 x KEEPALIVE_S"),
  MAX_PAYLOAD_BYTES: positiveInt.default(64 * 1024).describe("larger payloads are rejected (E_TOO_LARGE)"),
  MAX_CLOCK_SKEW: positiveInt.default(300).describe("seconds a fix may lie in the future"),
  DEVICE_RATE_LIMIT: positiveInt
    .default(50)
    .describe(
      "ingest messages per second per device (a fix, or one /locations upload); above it PUBACKs are delayed, never dropped",
    ),
  DEVICE_RATE_BURST: positiveInt
    .default(100)
    .describe("messages a device may send at once before DEVICE_RATE_LIMIT applies"),
  MQTT_MAX_HELD_PER_CONNECTION: positiveInt
    .default(1000)
    .describe("messages of one connection in the bridge at once; more wait unread (PUBACK later)"),
  MQTT_MAX_HELD: positiveInt
    .default(20_000)
    .describe("messages of all connections in the bridge at once; more wait unread (PUBACK later)"),
  MQTT_MAX_PACKET_BYTES: positiveInt
    .default(2 * 1024 * 1024)
    .describe("an MQTT packet declaring more is not buffered: the connection is closed"),
  MQTT_CONNECT_RATE: positiveInt
    .default(2000)
    .describe("new MQTT connections accepted per second; above it CONNACK 3 (server unavailable)"),
  MQTT_MAX_PENDING_AUTH: positiveInt
    .default(1000)
    .describe("MQTT authentications in progress at once; above it CONNACK 3 (server unavailable)"),
  MQTT_MAX_SUBSCRIBER_BUFFER_BYTES: positiveInt
    .default(4 * 1024 * 1024)
    .describe("a subscriber with more unsent bytes than this is disconnected (it stopped reading)"),
  MQTT_DRAIN_TIMEOUT_MS: positiveInt
    .default(10_000)
    .describe("a subscriber whose socket stays full this long is disconnected, so it cannot stall ingest"),
  PARTITION_INTERVAL: z.enum(["day", "month"]).default("day").describe("vehicle_locations partition size"),
  PARTITIONS_AHEAD: positiveInt.max(400).default(7).describe("partitions created ahead of today"),
  RETENTION_DAYS: positiveInt
    .default(90)
    .describe("history kept; older partitions are dropped, older fixes rejected"),
  FLEET_TZ: z
    .string()
    // PostgreSQL and Intl share the IANA names; a typo here would fail every batch, so refuse it at start
    .refine((tz) => isTimeZone(tz), { message: "not an IANA time zone name (e.g. Asia/Dubai)" })
    .default("Asia/Dubai")
    .describe("time zone of the fleet's day (analytics, reports)"),
  MOVING_SPEED_KMH: z.coerce
    .number()
    .positive()
    .max(100)
    .default(5)
    .describe(
      "speed from which a fix counts as moving (trips, moving time); below it with ignition on: idle",
    ),
  STOP_MIN_SECONDS: positiveInt
    .default(300)
    .describe("standing still this long ends a trip (a stop); ignition off ends it at once"),
  TRIP_MIN_DISTANCE_M: z.coerce
    .number()
    .min(0)
    .default(100)
    .describe("shorter trips are GPS noise and are dropped (metres)"),
  SKEW_ANOMALY_S: positiveInt
    .default(600)
    .describe("a fix received this many seconds after its recordedAt is recorded as a skewed anomaly"),
  QUEUE_ALERT_DEPTH: positiveInt
    .default(100_000)
    .describe("queue depth that raises the backpressure warning"),
  QUEUE_PARTITIONS: positiveInt
    .max(64)
    .default(DEFAULT_QUEUE_PARTITIONS)
    .describe(
      "locations-* queues; a vehicle's fixes always use the same one, processed in order; the same on bridges and workers",
    ),
  WORKER_CONCURRENCY: positiveInt
    .max(64)
    .default(1)
    .describe(
      "jobs of one partition a worker runs at once; above 1 a vehicle's batches may commit out of order (replays); the same on every worker",
    ),
  ADMIN_TOKEN: z
    .string()
    .min(16)
    .optional()
    .describe("first admin API token; generated into the data folder when unset"),
  CORS_ORIGINS: z
    .string()
    .default("")
    .describe("comma-separated origins allowed by CORS; empty = same origin"),
  METRICS_PUBLIC: bool.default(true).describe("serve /metrics without credentials"),
  SESSION_TTL_HOURS: positiveInt
    .max(24 * 365)
    .default(24)
    .describe("lifetime of a login session cookie"),
  LOGIN_RATE_LIMIT: positiveInt
    .default(10)
    .describe("POST /api/auth/login attempts per minute per client IP"),
  HTTP_INGEST_RATE_LIMIT: positiveInt
    .default(600)
    .describe("HTTP ingest requests per minute per client IP and vehicle"),
  TRACK_MAX_DAYS: positiveInt.max(366).default(31).describe("longest from/to range of a track request"),
  TRACK_MAX_POINTS: positiveInt
    .default(100_000)
    .describe("most points a track answer holds; more asks for simplify or a shorter range"),
  WS_MAX_BUFFER_BYTES: positiveInt
    .default(1024 * 1024)
    .describe("a live WebSocket client with more unsent bytes than this is dropped"),
  TRUST_PROXY: bool
    .default(false)
    .describe(
      "behind a TLS-terminating proxy: take client IP and https from X-Forwarded-* (rate limits, cookies)",
    ),
  TILE_URL: z
    .string()
    .default("https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    .describe("map tiles for the UI"),
  MQTT_ALLOW_ANONYMOUS: bool.default(false).describe("development only: any client may use non-fleet topics"),
  BROKER_CLUSTER: z
    .enum(["off", "redis"])
    .default("off")
    .describe("redis: broker nodes share sessions and routing through Redis"),
  EXTERNAL_MQTT_URL: z
    .string()
    .url()
    .optional()
    .describe("bridge/main.ts: URL of the external MQTT broker to read ingest topics from"),
  EXTERNAL_MQTT_USERNAME: z.string().optional().describe("bridge/main.ts: username on the external broker"),
  EXTERNAL_MQTT_PASSWORD: z.string().optional().describe("bridge/main.ts: password on the external broker"),
  BRIDGE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/)
    .optional()
    .describe("bridge/main.ts: stable replica id, client ids are BRIDGE_ID-0..K-1; default the host name"),
  BRIDGE_CONNECTIONS: positiveInt
    .max(256)
    .default(32)
    .describe(
      "bridge/main.ts: MQTT connections per replica; one message each in flight, so also the job size",
    ),
  BRIDGE_SESSION_EXPIRY_S: positiveInt
    .default(7 * 86_400)
    .describe("bridge/main.ts: how long the external broker keeps a stopped replica's session and queue"),
  DATA_DIR: z.string().default(".data").describe("local state: services, generated admin token"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  TRIP_GAP_SECONDS: positiveInt
    .default(600)
    .describe(
      "a silence longer than this between two fixes ends the trip; moving, idle time and distance count only shorter ones",
    ),
  STALE_AFTER_SECONDS: positiveInt
    .default(300)
    .describe("a live position older than this is answered with stale: true (show it as last known)"),
});

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export type Config = Omit<z.infer<typeof configSchema>, "HOLD_CAP_MS"> & { HOLD_CAP_MS: number };

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment; throws a ConfigError naming each invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  const c = parsed.data;
  // Aedes drops a silent client after 1.5 x keepalive, and a held socket answers no PINGREQ:
  // release held PUBACKs (by closing) before that, so the device reconnects and resends.
  const holdCap = c.HOLD_CAP_MS ?? Math.round(c.KEEPALIVE_S * 1000 * 1.2);
  if (holdCap >= c.KEEPALIVE_S * 1500) {
    throw new ConfigError(
      `invalid configuration:\n  HOLD_CAP_MS: must be below 1.5 x KEEPALIVE_S (${c.KEEPALIVE_S * 1500} ms)`,
    );
  }
  if (c.MQTT_MAX_PACKET_BYTES <= c.MAX_PAYLOAD_BYTES) {
    // between the two a payload is rejected with E_TOO_LARGE and the connection kept
    throw new ConfigError("invalid configuration:\n  MQTT_MAX_PACKET_BYTES: must be above MAX_PAYLOAD_BYTES");
  }
  if (
    (c.MQTT_TLS_CERT === undefined) !== (c.MQTT_TLS_KEY === undefined) ||
    (c.MQTT_TLS_PORT && !c.MQTT_TLS_CERT)
  ) {
    throw new ConfigError(
      "invalid configuration:\n  MQTT_TLS_PORT: needs both MQTT_TLS_CERT and MQTT_TLS_KEY",
    );
  }
  return { ...c, HOLD_CAP_MS: holdCap };
}

/** For entry points: parse or print the reason and exit 2. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
