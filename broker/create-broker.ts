import { readFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createNetServer, type Server } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createServer as createTlsServer } from "node:tls";
import { Aedes, type AedesOptions, type Client } from "aedes";
import type pg from "pg";
import { createWebSocketStream, WebSocketServer } from "ws";
import type { Bridge } from "../bridge/bridge.ts";
import type { Config } from "../core/config.ts";
import type { Logger } from "../core/logger.ts";
import { type Redis, redisKeys } from "../core/redis.ts";
import type { Reject } from "../core/reject-reasons.ts";
import { topics } from "../core/topics.ts";
import { getMqttAccount } from "../core/vehicles.ts";
import { createCommandAck } from "./command-ack.ts";
import { createCommandDownlink } from "./command-downlink.ts";
import { subscribeControl } from "./control.ts";
import { CredentialCache } from "./credential-cache.ts";
import { createAuthenticate } from "./hooks/authenticate.ts";
import { authorizeForward } from "./hooks/authorize-forward.ts";
import { createAuthorizePublish } from "./hooks/authorize-publish.ts";
import { createAuthorizeSubscribe } from "./hooks/authorize-subscribe.ts";
import { type AdmissionDeps, createAdmission, MAX_CLIENT_ID_LENGTH } from "./limits/admission.ts";
import { deliverAtHighestQos } from "./overlapping-qos.ts";
import { relayEvents } from "./relay-events.ts";

export interface BrokerDeps {
  config: Pick<
    Config,
    | "MQTT_PORT"
    | "MQTT_WS_PORT"
    | "MQTT_TLS_PORT"
    | "MQTT_TLS_CERT"
    | "MQTT_TLS_KEY"
    | "MQTT_HOST"
    | "MQTT_ALLOW_ANONYMOUS"
    | "MAX_PAYLOAD_BYTES"
    | "MQTT_DRAIN_TIMEOUT_MS"
  > &
    AdmissionDeps["config"];
  pool: pg.Pool;
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
  /** bound ports (useful when configured as 0) */
  ports: { mqtt: number; ws: number; tls?: number };
  /** disconnects every live session of a vehicle and forgets its cached credential */
  revoke(vehicleId: string): void;
  /** ingest admission (rate limit, held ceilings) and connect-storm refusals, for tests and the heartbeat */
  limits: {
    stats(): { held: number; waiting: number; rateDelayed: number; pendingAuth: number };
    heldBy(client: Client): number;
    refused: { rate: number; pending: number; clientId: number };
  };
  close(): Promise<void>;
}

/**
 * The embedded MQTT broker: Aedes with the device ACL hooks, listening on TCP, WebSocket and
 * (when configured) TLS, handing every ingest publish to the bridge.
 */
export async function createBroker(deps: BrokerDeps): Promise<BrokerHandle> {
  const { config, bridge, log } = deps;
  const credentials = new CredentialCache((username) => getMqttAccount(deps.pool, username));
  const emptyIdNoClean = new WeakSet<Client>();
  const clientsByVehicle = new Map<string, Set<Client>>();
  const idPrefix = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  let seq = 0;
  const admission = createAdmission({ config, holdCap: bridge.holdCap, log });

  if (config.MQTT_ALLOW_ANONYMOUS)
    log.warn("MQTT_ALLOW_ANONYMOUS=true: any client may use non-fleet topics (development only)");

  const aedes: Aedes = await Aedes.createBroker({
    ...(deps.mq ? { mq: deps.mq } : {}),
    ...(deps.persistence ? { persistence: deps.persistence } : {}),
    // a frozen subscriber must not stall ingest: drop a client whose socket stays full this long
    drainTimeout: config.MQTT_DRAIN_TIMEOUT_MS,
    concurrency: 1000,
    maxClientsIdLength: MAX_CLIENT_ID_LENGTH,
    preConnect(client, packet, callback) {
      admission.takeConnectToken(client, packet);
      if (packet.clientId === "" && packet.clean === false) emptyIdNoClean.add(client);
      deliverAtHighestQos(client);
      admission.limitSubscriberBuffer(client);
      callback(null, true);
    },
    authenticate: admission.authenticate(
      createAuthenticate({
        credentials,
        allowAnonymous: config.MQTT_ALLOW_ANONYMOUS,
        emptyIdNoClean,
        log,
        onAccount(client, vehicleId) {
          const set = clientsByVehicle.get(vehicleId) ?? new Set<Client>();
          clientsByVehicle.set(vehicleId, set);
          set.add(client);
        },
      }),
    ),
    authorizePublish: createAuthorizePublish({
      ingest: (msg) => bridge.ingest(msg),
      commandAck: createCommandAck({ pool: deps.pool, maxPayloadBytes: config.MAX_PAYLOAD_BYTES, log }),
      publishRejects,
      nextMessageId: () => `${idPrefix}-${(seq++).toString(36)}`,
      admit: admission.admit,
      allowAnonymous: config.MQTT_ALLOW_ANONYMOUS,
      log,
    }),
    authorizeSubscribe: createAuthorizeSubscribe(config.MQTT_ALLOW_ANONYMOUS),
    authorizeForward,
  });

  function publishRejects(rejects: Reject[]): void {
    for (const r of rejects) {
      const payload = JSON.stringify({
        reason: r.reason,
        detail: r.detail,
        messageId: r.messageId,
        topic: r.topic,
      });
      aedes.publish(
        { cmd: "publish", topic: topics.errors(r.vehicleId), payload, qos: 1, retain: false, dup: false },
        () => {},
      );
    }
  }

  const downlink = createCommandDownlink({ aedes, pool: deps.pool, redis: deps.redis, log });
  aedes.on("ack", downlink.onAck);
  aedes.on("connackSent", downlink.onConnackSent);
  aedes.on("subscribe", downlink.onSubscribe);

  aedes.on("clientDisconnect", (client) => {
    for (const [vehicleId, set] of clientsByVehicle) {
      if (set.delete(client) && set.size === 0) clientsByVehicle.delete(vehicleId);
    }
  });
  aedes.on("clientError", (client, err) => {
    // a subscriber that stopped reading (MQTT_DRAIN_TIMEOUT_MS) is worth an operator's attention
    const level = err.message === "drain timeout" ? "warn" : "debug";
    log[level]({ clientId: client?.id, err: err.message }, "client error");
  });
  aedes.on("connectionError", (client, err) =>
    log.debug({ clientId: client?.id, err: err.message }, "connection error"),
  );

  function revoke(vehicleId: string): void {
    credentials.evict(vehicleId);
    const set = clientsByVehicle.get(vehicleId);
    if (!set) return;
    for (const client of set) client.close();
    clientsByVehicle.delete(vehicleId);
    log.info({ vehicleId, sessions: set.size }, "vehicle sessions disconnected");
  }

  const limits = { stats: admission.stats, heldBy: admission.heldBy, refused: admission.refused };

  const servers: Server[] = [];
  const listen = (server: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, config.MQTT_HOST, () => {
        server.off("error", reject);
        servers.push(server);
        const addr = server.address();
        resolve(typeof addr === "object" && addr ? addr.port : port);
      });
    });

  const handle = (conn: Parameters<Aedes["handle"]>[0], req?: Parameters<Aedes["handle"]>[1]) =>
    admission.limitPacketSize(aedes.handle(conn, req));
  const mqttPort = await listen(createNetServer(handle), config.MQTT_PORT);

  const http = createHttpServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" }).end("MQTT over WebSocket: upgrade required\n");
  });
  const wss = new WebSocketServer({ server: http });
  wss.on("connection", (socket, req) => {
    const stream = createWebSocketStream(socket);
    stream.on("error", () => socket.terminate());
    handle(stream, req);
  });
  const wsPort = await listen(http, config.MQTT_WS_PORT);

  let tlsPort: number | undefined;
  if (config.MQTT_TLS_PORT !== undefined && config.MQTT_TLS_CERT && config.MQTT_TLS_KEY) {
    const tls = createTlsServer(
      { cert: readFileSync(config.MQTT_TLS_CERT), key: readFileSync(config.MQTT_TLS_KEY) },
      handle,
    );
    tlsPort = await listen(tls, config.MQTT_TLS_PORT);
  }

  // /health reads this key: present = a broker is alive. It also carries the event-loop delay
  // of the last interval (scripts/soak.ts samples it) and the ingest admission state.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const beat = () => {
    const lag = {
      loopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e4) / 100,
      loopDelayMaxMs: Math.round(loopDelay.max / 1e4) / 100,
    };
    loopDelay.reset();
    return deps.redis
      .set(
        `${redisKeys.brokerHeartbeat}${aedes.id}`,
        JSON.stringify({ at: Date.now(), clients: aedes.connectedClients, ...lag, ...limits.stats() }),
        "PX",
        15_000,
      )
      .catch((err: unknown) => log.warn({ err }, "heartbeat failed"));
  };
  void beat();
  const heartbeat = setInterval(beat, 5_000);
  heartbeat.unref();

  const unsubscribeControl = await subscribeControl(deps.subscriber, log, (msg) => {
    if (msg.type === "revoke") revoke(msg.vehicleId);
    else if (msg.type === "command")
      downlink.deliver(msg).catch((err: unknown) => log.error({ err, ...msg }, "command not delivered"));
  });
  const stopRelay = await relayEvents({ aedes, subscriber: deps.subscriber, redis: deps.redis, log });

  log.info({ mqtt: mqttPort, ws: wsPort, tls: tlsPort }, "broker listening");

  return {
    aedes,
    ports: { mqtt: mqttPort, ws: wsPort, ...(tlsPort !== undefined ? { tls: tlsPort } : {}) },
    revoke,
    limits,
    async close() {
      clearInterval(heartbeat);
      loopDelay.disable();
      admission.close();
      // 1. stop accepting connections, 2. queue what is held (PUBACKs go out), 3. close clients
      for (const s of servers) s.close();
      wss.close();
      await bridge.close();
      await unsubscribeControl();
      await stopRelay();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await deps.redis.del(`${redisKeys.brokerHeartbeat}${aedes.id}`).catch(() => {});
    },
  };
}
