import { readFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createNetServer, type Server } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { Aedes } from "aedes";
import { createWebSocketStream, WebSocketServer } from "ws";
import type { Config } from "../core/config.ts";
import type { ConnectionGuard } from "../core/connection-guard.ts";

export type ListenerConfig = Pick<
  Config,
  | "MQTT_PORT"
  | "MQTT_WS_PORT"
  | "MQTT_TLS_PORT"
  | "MQTT_TLS_CERT"
  | "MQTT_TLS_KEY"
  | "MQTT_HOST"
  | "MQTT_MAX_PACKET_BYTES"
  | "MQTT_MAX_CONNECTIONS_PER_ADDRESS"
  | "MQTT_MAX_CONNECTIONS"
  | "MQTT_CONNECT_TIMEOUT_MS"
>;

/**
 * What a WebSocket message may carry beyond one packet of MQTT_MAX_PACKET_BYTES: its fixed header
 * (at most 5 bytes), and the small packets a client writes in the same tick (mqtt.js in a browser
 * sends them as one message).
 */
export const WS_FRAME_SLACK_BYTES = 64 * 1024;

/** Takes one new connection: Aedes' `handle`, with the packet-size limit installed on its client. */
export type HandleConnection = (
  conn: Parameters<Aedes["handle"]>[0],
  req?: Parameters<Aedes["handle"]>[1],
) => unknown;

export interface Listeners {
  /** bound ports (useful when configured as 0) */
  ports: { mqtt: number; ws: number; tls?: number };
  /** stops accepting connections; open ones stay until Aedes closes them */
  close(): void;
}

/**
 * The broker's listeners on MQTT_HOST: MQTT over TCP, over WebSocket (an HTTP server answering
 * 426 to a plain request), and over TLS when a port, certificate and key are configured.
 * ws buffers a whole message before handing it on, so the packet-size limit
 * (limits/packet-size-limit.ts) would come too late there: ws's own cap (`maxPayload`, 100 MiB by
 * default) is set to the packet cap, and a larger message closes the socket (1009) as soon as its
 * length is read. Every listener counts its open connections in one `guard`
 * (core/connection-guard.ts): a peer that opens connections and sends nothing is capped per
 * address and in total, and closed after MQTT_CONNECT_TIMEOUT_MS without CONNECT (Aedes'
 * connectTimeout; the WebSocket port's HTTP server has the same time for its upgrade request).
 */
export async function listen(
  config: ListenerConfig,
  handle: HandleConnection,
  guard: ConnectionGuard,
): Promise<Listeners> {
  const servers: Server[] = [];
  const bind = (server: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      guard.guard(server);
      server.listen(port, config.MQTT_HOST, () => {
        server.off("error", reject);
        servers.push(server);
        const addr = server.address();
        resolve(typeof addr === "object" && addr ? addr.port : port);
      });
    });

  const mqtt = await bind(createNetServer(handle), config.MQTT_PORT);

  const http = createHttpServer({ headersTimeout: config.MQTT_CONNECT_TIMEOUT_MS }, (_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" }).end("MQTT over WebSocket: upgrade required\n");
  });
  const wss = new WebSocketServer({
    server: http,
    maxPayload: config.MQTT_MAX_PACKET_BYTES + WS_FRAME_SLACK_BYTES,
  });
  wss.on("connection", (socket, req) => {
    const stream = createWebSocketStream(socket);
    stream.on("error", () => socket.terminate());
    handle(stream, req);
  });
  const ws = await bind(http, config.MQTT_WS_PORT);

  let tls: number | undefined;
  if (config.MQTT_TLS_PORT !== undefined && config.MQTT_TLS_CERT && config.MQTT_TLS_KEY) {
    const server = createTlsServer(
      { cert: readFileSync(config.MQTT_TLS_CERT), key: readFileSync(config.MQTT_TLS_KEY) },
      handle,
    );
    tls = await bind(server, config.MQTT_TLS_PORT);
  }

  return {
    ports: { mqtt, ws, ...(tls !== undefined ? { tls } : {}) },
    close() {
      for (const s of servers) s.close();
      wss.close();
    },
  };
}
