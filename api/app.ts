import { randomUUID } from "node:crypto";
import cookie from "@fastify/cookie";
import cors from "@fastify/cors";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import websocket from "@fastify/websocket";
import type { Queue } from "bullmq";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import type pg from "pg";
import type { Bridge } from "../bridge/bridge.ts";
import type { ApiConfig } from "../core/config.ts";
import { createConnectionGuard } from "../core/connection-guard.ts";
import { createExternalBrokerKick } from "../core/external-broker-kick.ts";
import type { Logger } from "../core/logger.ts";
import type { NotificationQueue } from "../core/notifications.ts";
import type { LocationQueues } from "../core/queues.ts";
import type { Redis } from "../core/redis.ts";
import { registerAudit } from "./audit-hook.ts";
import { BackpressureMonitor } from "./backpressure.ts";
import { type ErrorCounters, registerErrorHandler } from "./errors.ts";
import { createLiveAccess, type LiveAccess } from "./live-access.ts";
import { LiveHub } from "./live-hub.ts";
import { LiveLimits } from "./live-limits.ts";
import { createLoginBackoff } from "./login-backoff.ts";
import { registerAuth } from "./plugins/auth.ts";
import { basemapFilePlugin } from "./plugins/basemap-file.ts";
import { registerBullBoard } from "./plugins/bull-board.ts";
import { registerCompression } from "./plugins/compression.ts";
import { registerDocs } from "./plugins/docs.ts";
import { basemapCsp, uiPlugin } from "./plugins/ui.ts";
import { sharedRateLimitStore } from "./rate-limit-store.ts";
import { registerRouteRules } from "./route-rules.ts";
import { accountCreateRoutes } from "./routes/account-create.ts";
import { accountRoutes } from "./routes/accounts.ts";
import { alertRuleRoutes } from "./routes/alert-rules.ts";
import { alertRoutes } from "./routes/alerts.ts";
import { analyticsRoutes } from "./routes/analytics.ts";
import { anomalyRoutes } from "./routes/anomalies.ts";
import { auditRoutes } from "./routes/audit.ts";
import { authRoutes } from "./routes/auth.ts";
import { commandRoutes } from "./routes/commands.ts";
import { eventRoutes } from "./routes/events.ts";
import { fleetSummaryRoutes } from "./routes/fleet-summary.ts";
import { geofenceHistoryRoutes } from "./routes/geofence-history.ts";
import { geofenceRoutes } from "./routes/geofences.ts";
import { grantRoutes } from "./routes/grants.ts";
import { groupRoutes } from "./routes/groups.ts";
import { healthRoutes } from "./routes/health.ts";
import { ingestRoutes } from "./routes/ingest.ts";
import { liveRoutes } from "./routes/live.ts";
import { notificationChannelRoutes } from "./routes/notification-channels.ts";
import { owntracksRoutes } from "./routes/owntracks.ts";
import { positionRoutes } from "./routes/positions.ts";
import { rejectedRoutes } from "./routes/rejected.ts";
import { reportRoutes } from "./routes/reports.ts";
import { trackRoutes } from "./routes/track.ts";
import { vehicleImportRoutes } from "./routes/vehicle-import.ts";
import { vehiclePatchRoutes } from "./routes/vehicle-patch.ts";
import { vehicleRoutes } from "./routes/vehicles.ts";
import { createSocketRevocations } from "./socket-revocations.ts";

export interface AppDeps {
  config: ApiConfig;
  pool: pg.Pool;
  /** commands (fail fast: maxRetriesPerRequest 1) */
  redis: Redis;
  /** a connection of its own for the live channel subscription */
  subscriber: Redis;
  /** the `locations-*` queues (health, metrics, Bull Board) */
  queue: LocationQueues;
  /** the notifications queue ("send test"); its route answers 503 without it */
  notifications?: NotificationQueue;
  /** more queues to show in Bull Board (maintenance, …) */
  boardQueues?: Queue[];
  /** HTTP ingest goes through the same bridge as MQTT */
  bridge: Pick<Bridge, "ingest">;
  log: Logger;
  /** live WebSocket send interval (tests pass 0 and flush by hand) */
  liveFlushMs?: number;
  /** live channel names, default those of core/redis.ts (tests use their own: pub/sub ignores db numbers) */
  liveChannels?: { live: string; events: string };
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

export interface App extends FastifyInstance {
  hub: LiveHub;
  liveAccess: LiveAccess;
}

/** Builds the HTTP app; never listens (main.ts does, tests use inject or their own port). */
export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, pool, redis, log } = deps;
  const trust = config.TRUST_PROXY;
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // a caller's X-Request-Id is kept when it is sane, so one id follows a request across proxies
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID_RE.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    // the client address (rate limits) and https (Secure cookie) as the trusted proxies saw them:
    // their addresses or a hop count (hop 0 is the peer), never "every hop" (the left-most entry
    // is the client's word)
    trustProxy: typeof trust === "number" ? (_address: string, hop: number) => hop < trust : trust,
    // request lines are written by the onResponse hook below, at a level per route
    logController: new LogController({ disableRequestLogging: true }),
  });
  // idle TCP connections are capped when accepted, and closed without a request's headers in time
  const connections = createConnectionGuard({
    maxPerAddress: config.HTTP_MAX_CONNECTIONS_PER_ADDRESS,
    maxTotal: config.HTTP_MAX_CONNECTIONS,
    log: log.child({ module: "connections" }),
  });
  connections.guard(app.server);
  app.server.headersTimeout = config.HTTP_HEADERS_TIMEOUT_MS;
  // first: it sees every route, the plugins' too
  registerRouteRules(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const errorCounters: ErrorCounters = { queryTimeouts: 0 };
  registerErrorHandler(app, errorCounters);
  app.addHook("onSend", async (req, reply) => {
    reply.header("x-request-id", req.id);
  });
  app.addHook("onResponse", async (req, reply) => {
    // per-message traffic (device ingest) logs at debug, like the MQTT path
    const level = req.routeOptions.config.access === "device" ? "debug" : "info";
    req.log[level](
      { method: req.method, url: req.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      "request completed",
    );
  });

  const origins = config.CORS_ORIGINS.split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  // before every route: its onRoute hook adds the compressing onSend to the routes registered after it
  await registerCompression(app);
  const basemap = basemapCsp(config);
  await app.register(helmet, {
    contentSecurityPolicy: {
      // 'self' covers ws:/wss: to the page's own host (CSP Level 3), which is all /ws needs
      directives: {
        "img-src": ["'self'", "data:", "https:", ...basemap.imgSrc],
        "connect-src": ["'self'", ...basemap.connectSrc],
      },
    },
  });
  await app.register(cors, { origin: origins.length > 0 ? origins : false, credentials: true });
  await app.register(cookie);
  await app.register(rateLimit, { global: false, store: sharedRateLimitStore(redis, log) });
  await app.register(websocket, { options: { maxPayload: 16 * 1024 } });
  await registerDocs(app, { public: config.DOCS_PUBLIC });
  registerAudit(app, pool);
  registerAuth(app, pool, config);

  const hub = new LiveHub({
    subscriber: deps.subscriber,
    log: log.child({ module: "live" }),
    maxBufferedBytes: config.WS_MAX_BUFFER_BYTES,
    staleAfterMs: config.STALE_AFTER_SECONDS * 1000,
    flushMs: deps.liveFlushMs ?? 100,
    ...(deps.liveChannels ? { channels: deps.liveChannels } : {}),
  });
  await hub.start();
  const revocations = createSocketRevocations({
    subscriber: deps.subscriber,
    log: log.child({ module: "revocations" }),
  });
  await revocations.start();
  const liveAccess = createLiveAccess({
    pool,
    subscriber: deps.subscriber,
    hub,
    log: log.child({ module: "live" }),
  });
  await liveAccess.start();
  const liveLimits = new LiveLimits({
    allowedOrigins: origins,
    maxSockets: config.WS_MAX_SOCKETS,
    maxSocketsPerUser: config.WS_MAX_SOCKETS_PER_USER,
    log: log.child({ module: "live" }),
  });
  // BullMQ prints connection errors to the console unless someone listens; /health reports them
  const onQueueError = (err: Error, queue: string) =>
    log.debug({ err: err.message, queue }, "queue connection error");
  deps.queue.onError(onQueueError);
  for (const q of deps.boardQueues ?? []) q.on("error", (err) => onQueueError(err, q.name));
  const backpressure = new BackpressureMonitor(deps.queue, config.QUEUE_ALERT_DEPTH, log);
  backpressure.start();
  app.addHook("onClose", async () => {
    backpressure.stop();
    revocations.stop();
    liveAccess.stop();
    await hub.close();
  });

  await app.register(
    healthRoutes({
      pool,
      redis,
      queue: deps.queue,
      backpressure,
      hub,
      liveRefused: liveLimits.refused,
      connectionsRefused: connections.refused,
      apiCounters: errorCounters,
      metricsPublic: config.METRICS_PUBLIC,
      metricsToken: config.METRICS_TOKEN,
      sessionIdleMinutes: config.SESSION_IDLE_MINUTES,
    }),
  );
  const backoff = createLoginBackoff(redis, log.child({ module: "login" }), {
    failures: config.LOGIN_ACCOUNT_FAILURES,
    maxDelayMs: config.LOGIN_BACKOFF_MAX_SECONDS * 1000,
  });
  await app.register(authRoutes({ pool, redis, config, backoff }));
  await app.register(accountRoutes({ pool, redis }));
  await app.register(accountCreateRoutes({ pool, redis }));
  await app.register(groupRoutes({ pool, redis }));
  await app.register(grantRoutes({ pool, redis }));
  await app.register(auditRoutes({ pool }));
  const externalBroker = createExternalBrokerKick(config, {
    redis,
    log: log.child({ module: "external-broker" }),
  });
  await app.register(vehicleRoutes({ pool, redis, config, externalBroker }));
  await app.register(vehiclePatchRoutes({ pool, redis, externalBroker }));
  await app.register(vehicleImportRoutes({ pool, redis, externalBroker }));
  await app.register(trackRoutes({ pool, config }));
  await app.register(positionRoutes({ pool, redis, config }));
  await app.register(geofenceRoutes({ pool }));
  await app.register(geofenceHistoryRoutes({ pool }));
  await app.register(rejectedRoutes({ pool }));
  await app.register(eventRoutes({ pool }));
  await app.register(alertRuleRoutes({ pool }));
  await app.register(alertRoutes({ pool }));
  await app.register(analyticsRoutes({ pool, config }));
  await app.register(reportRoutes({ pool }));
  await app.register(fleetSummaryRoutes({ pool, config }));
  await app.register(anomalyRoutes({ pool }));
  await app.register(ingestRoutes({ bridge: deps.bridge, config }));
  await app.register(owntracksRoutes({ bridge: deps.bridge, config }));
  await app.register(commandRoutes({ pool, redis }));
  await app.register(
    liveRoutes({
      redis,
      hub,
      revocations,
      limits: liveLimits,
      access: liveAccess,
      messagesPerMinute: config.WS_MESSAGES_PER_MINUTE,
    }),
  );
  await app.register(
    notificationChannelRoutes({
      pool,
      config,
      ...(deps.notifications ? { notifications: deps.notifications } : {}),
    }),
  );
  await registerBullBoard(app, [...deps.queue.queues, ...(deps.boardQueues ?? [])]);
  if (config.MAP_PMTILES_FILE) await app.register(basemapFilePlugin({ file: config.MAP_PMTILES_FILE }));
  await app.register(uiPlugin({ config }));

  const out = app as unknown as App;
  out.hub = hub;
  out.liveAccess = liveAccess;
  return out;
}
