import { Aedes, type AedesOptions, type Client } from "aedes";
import type pg from "pg";
import type { Bridge } from "../bridge/bridge.ts";
import { createImeiResolver, type ResolveImei } from "../bridge/imei-resolver.ts";
import type { Config } from "../core/config.ts";
import { type ConnectionGuard, createConnectionGuard } from "../core/connection-guard.ts";
import { subscribeControl } from "../core/control.ts";
import type { Logger } from "../core/logger.ts";
import { counterField, labelledField } from "../core/metrics-catalogue.ts";
import { type Redis, redisKeys } from "../core/redis.ts";
import { getMqttAccount } from "../core/vehicles.ts";
import { createClientRegistry } from "./client-registry.ts";
import { createCommandAck } from "./command-ack.ts";
import { createCommandDownlink } from "./command-downlink.ts";
import { type ConnectRefusals, startConnectRefusalMetrics } from "./connect-refusal-metrics.ts";
import { CredentialCache } from "./credential-cache.ts";
import { startHeartbeat } from "./heartbeat.ts";
import { createAuthenticate } from "./hooks/authenticate.ts";
import { authorizeForward } from "./hooks/authorize-forward.ts";
import { createAuthorizePublish } from "./hooks/authorize-publish.ts";
import { createAuthorizeSubscribe } from "./hooks/authorize-subscribe.ts";
import { forgetOnDisconnect } from "./hooks/client-disconnect.ts";
import { logClientErrors } from "./hooks/client-errors.ts";
import { wireDownlinkEvents } from "./hooks/downlink-events.ts";
import { createPreConnect } from "./hooks/pre-connect.ts";
import { createIngestPublish } from "./ingest-publish.ts";
import { startIntegrationScope } from "./integration-scope.ts";
import {
  type Admission,
  type AdmissionDeps,
  createAdmission,
  MAX_CLIENT_ID_LENGTH,
} from "./limits/admission.ts";
import { type ListenerConfig, listen } from "./listeners.ts";
import { queueOncePerSession } from "./overlapping-qos.ts";
import { trackPresence } from "./presence.ts";
import { startPresenceSweep } from "./presence-sweep.ts";
import { createRefusals, type Refusals } from "./refusals.ts";
import { createAcknowledge } from "./reject-notices.ts";
import { relayEvents } from "./relay-events.ts";
import { startSheddingMetrics } from "./shedding-metrics.ts";
import { createTeltonikaCommands, type TeltonikaCommands } from "./teltonika-commands.ts";
import { listenTeltonika, type TeltonikaListener } from "./teltonika-tcp.ts";

export interface BrokerDeps {
  config: Pick<
    Config,
    | "MQTT_ALLOW_ANONYMOUS"
    | "MAX_PAYLOAD_BYTES"
    | "MQTT_DRAIN_TIMEOUT_MS"
    | "TELTONIKA_TCP_PORT"
    | "TELTONIKA_IDLE_TIMEOUT_S"
    | "PRESENCE_GRACE_S"
  > &
    ListenerConfig &
    AdmissionDeps["config"];
  pool: pg.Pool;
  /**
   * a small pool of its own for credential lookups (CONNECT): the queries on `pool` (command
   * answers and deliveries) cannot starve other devices' connects, whatever one device sends
   */
  credentialPool: pg.Pool;
  bridge: Bridge;
  /** for the heartbeat; `subscriber` is a second connection for the control channel */
  redis: Redis;
  subscriber: Redis;
  log: Logger;
  /** shared by the nodes of a cluster (mqemitter-redis); default: Aedes' in-process emitter */
  mq?: AedesOptions["mq"];
  /** sessions shared by the nodes of a cluster (aedes-persistence-redis); default: in memory */
  persistence?: AedesOptions["persistence"];
}

export interface BrokerHandle {
  aedes: Aedes;
  /** bound ports (useful when configured as 0); teltonika when TELTONIKA_TCP_PORT is set */
  ports: { mqtt: number; ws: number; tls?: number; teltonika?: number };
  /** disconnects every live session of a vehicle and forgets its cached credential */
  revoke(vehicleId: string): void;
  /** ingest admission (rate limit, held ceilings) and connect-storm refusals, for tests and the heartbeat */
  limits: {
    stats(): { held: number; waiting: number; rateDelayed: number; pendingAuth: number; shedding: boolean };
    heldBy(client: Client): number;
    /** the load shedding (limits/load-shed.ts): whether it sheds now, how often it did */
    shedding: Admission["shedding"];
    refused: ConnectRefusals;
    /** client ids not naming their account, and publishes past a device's fix or answer rate */
    refusals: Refusals["counts"];
  };
  close(): Promise<void>;
}

/**
 * The embedded MQTT broker: Aedes with one hook per concern (hooks/), every client limit behind
 * the admission (limits/admission.ts), listening on TCP, WebSocket and (when configured) TLS
 * (listeners.ts), and handing every ingest publish to the bridge (ingest-publish.ts).
 */
export async function createBroker(deps: BrokerDeps): Promise<BrokerHandle> {
  const { config, bridge, log } = deps;
  const credentials = new CredentialCache((username) => getMqttAccount(deps.credentialPool, username));
  const clients = createClientRegistry({ credentials, log });
  const refusals = createRefusals(deps.redis, log);
  // the bridge's hold cap: one timer in the process decides for both (bridge/hold-cap.ts)
  let beatNow = () => {};
  const admission = createAdmission({
    config,
    holdCap: bridge.holdCap,
    refusals,
    queueLatencyMs: bridge.queueLatencyMs,
    onShedding: () => {
      countShedding();
      // the heartbeat carries `shedding` (the logitrack_broker_shedding gauge): now, not in 5 s
      beatNow();
    },
    log,
  });
  const countShedding = startSheddingMetrics(deps.redis, admission.shedding, log);
  const emptyId = new WeakSet<Client>();
  const idPrefix = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  let seq = 0;
  const nextMessageId = () => `${idPrefix}-${(seq++).toString(36)}`;
  const acknowledge = createAcknowledge((packet) => aedes.publish(packet, () => {}));

  if (config.MQTT_ALLOW_ANONYMOUS)
    log.warn("MQTT_ALLOW_ANONYMOUS=true: any client may use non-fleet topics (development only)");

  const aedes: Aedes = await Aedes.createBroker({
    ...(deps.mq ? { mq: deps.mq } : {}),
    ...(deps.persistence ? { persistence: deps.persistence } : {}),
    // a frozen subscriber must not stall ingest: drop a client whose socket stays full this long
    drainTimeout: config.MQTT_DRAIN_TIMEOUT_MS,
    connectTimeout: config.MQTT_CONNECT_TIMEOUT_MS,
    concurrency: 1000,
    maxClientsIdLength: MAX_CLIENT_ID_LENGTH,
    preConnect: createPreConnect({ admission, emptyId }),
    authenticate: admission.authenticate(
      createAuthenticate({
        credentials,
        allowAnonymous: config.MQTT_ALLOW_ANONYMOUS,
        emptyId,
        log,
        onAccount: clients.add,
        onClientIdRefused: () => refusals.count("client_id"),
        imeiRegistered: async (imei) =>
          (await deps.pool.query("SELECT 1 FROM vehicles WHERE imei = $1", [imei])).rowCount !== 0,
      }),
    ),
    authorizePublish: createAuthorizePublish({
      ingest: createIngestPublish({
        admit: admission.admit,
        decide: bridge.decide,
        queue: bridge.queueDecision,
        acknowledge,
        nextMessageId,
      }),
      commandAnswer: createCommandAck({
        pool: deps.pool,
        admit: admission.admitAnswer,
        maxPayloadBytes: config.MAX_PAYLOAD_BYTES,
        acknowledge,
        nextMessageId,
        log,
      }),
      allowAnonymous: config.MQTT_ALLOW_ANONYMOUS,
      log,
    }),
    authorizeSubscribe: createAuthorizeSubscribe(config.MQTT_ALLOW_ANONYMOUS),
    authorizeForward,
  });

  queueOncePerSession(
    (aedes as unknown as { persistence: Parameters<typeof queueOncePerSession>[0] }).persistence,
  );
  const downlink = createCommandDownlink({ aedes, pool: deps.pool, redis: deps.redis, log });
  wireDownlinkEvents(aedes, downlink);
  forgetOnDisconnect(aedes, clients);
  aedes.on("client", admission.connected);
  aedes.on("clientDisconnect", admission.disconnected);
  logClientErrors(aedes, log);
  // online/offline per vehicle over every node (presence.ts, presence-sweep.ts)
  const graceMs = config.PRESENCE_GRACE_S * 1000;
  const presence = trackPresence({ aedes, redis: deps.redis, graceMs, log });
  const presenceSweep = startPresenceSweep({
    pool: deps.pool,
    redis: deps.redis,
    graceMs,
    node: aedes.id,
    log,
  });

  const limits = {
    stats: admission.stats,
    heldBy: admission.heldBy,
    shedding: admission.shedding,
    refused: admission.refused,
    refusals: refusals.counts,
  };
  const connections = createConnectionGuard({
    maxPerAddress: config.MQTT_MAX_CONNECTIONS_PER_ADDRESS,
    maxTotal: config.MQTT_MAX_CONNECTIONS,
    log,
    onRefuse: (reason) => admission.refused[reason === "address" ? "addressConnections" : "connections"]++,
  });
  const listeners = await listen(
    config,
    (conn, req) => admission.limitConnection(aedes.handle(conn, req)),
    connections,
  );
  const heartbeat = startHeartbeat({ aedes, redis: deps.redis, log, limits });
  beatNow = heartbeat.beat;
  const refusalMetrics = startConnectRefusalMetrics({ redis: deps.redis, refused: admission.refused, log });
  const teltonikaCommands = createTeltonikaCommands({ pool: deps.pool, log });
  const imeis = createImeiResolver(deps.pool);
  const teltonika = await startTeltonika(deps, teltonikaCommands, connections, imeis);
  const ports = { ...listeners.ports, ...(teltonika ? { teltonika: teltonika.port } : {}) };

  const unsubscribeControl = await subscribeControl(deps.subscriber, log, (msg) => {
    if (msg.type === "revoke") {
      clients.revoke(msg.vehicleId);
      teltonikaCommands.revoke(msg.vehicleId);
      imeis.forgetVehicle(msg.vehicleId);
    } else if (msg.type === "revoke-integration") clients.revoke(msg.name, "integration");
    else if (msg.type === "command") {
      downlink.deliver(msg).catch((err: unknown) => log.error({ err, ...msg }, "command not delivered"));
      teltonikaCommands.deliver(msg);
    }
  });
  const stopIntegrationScope = await startIntegrationScope({
    subscriber: deps.subscriber,
    credentials,
    clients,
    log,
  });
  const stopRelay = await relayEvents({ aedes, subscriber: deps.subscriber, redis: deps.redis, log });

  log.info(ports, "broker listening");

  return {
    aedes,
    ports,
    revoke: (vehicleId) => clients.revoke(vehicleId),
    limits,
    async close() {
      heartbeat.stop();
      refusalMetrics.stop();
      await presenceSweep.stop();
      admission.close();
      // 1. stop accepting connections, 2. queue what is held (PUBACKs go out), 3. close clients
      listeners.close();
      teltonika?.close();
      await bridge.close();
      // the replies of the packets the close flushed go out first
      await new Promise((resolve) => setImmediate(resolve));
      teltonika?.closeConnections();
      await unsubscribeControl();
      await stopIntegrationScope();
      await stopRelay();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      // the sessions it closed end in Redis before the connection goes
      await presence.flush();
      await heartbeat.remove();
    },
  };
}

/** The Teltonika TCP listener (teltonika-tcp.ts) when TELTONIKA_TCP_PORT is set, on MQTT_HOST. */
async function startTeltonika(
  deps: BrokerDeps,
  commands: TeltonikaCommands,
  connections: ConnectionGuard,
  resolveImei: ResolveImei,
): Promise<TeltonikaListener | undefined> {
  const { config, redis, log } = deps;
  if (config.TELTONIKA_TCP_PORT === undefined) return undefined;
  return listenTeltonika({
    port: config.TELTONIKA_TCP_PORT,
    host: config.MQTT_HOST,
    maxPayloadBytes: config.MAX_PAYLOAD_BYTES,
    idleTimeoutMs: config.TELTONIKA_IDLE_TIMEOUT_S * 1000,
    handshakeTimeoutMs: config.MQTT_CONNECT_TIMEOUT_MS,
    guard: connections.guard,
    resolveImei,
    ingest: (msg) => deps.bridge.ingest(msg),
    commands,
    count: (refusal) => {
      const field = refusal
        ? labelledField("teltonika_tcp_refused", refusal)
        : counterField("teltonika_tcp_packets");
      redis.hincrby(redisKeys.metrics, field, 1).catch(() => {});
    },
    log: log.child({ listener: "teltonika" }),
  });
}
