import { z } from "zod";
import { bool, nonNegativeInt, port, positiveInt } from "./fields.ts";
import { configRule, refuse } from "./rule.ts";

/** The embedded broker's listeners (broker/create-broker.ts); MQTT_PORT is also what devices are told. */
export const mqttListenerVars = z.object({
  MQTT_PORT: port.default(1883).describe("MQTT over TCP"),
  MQTT_WS_PORT: port.default(8083).describe("MQTT over WebSocket"),
  MQTT_TLS_PORT: port.optional().describe("MQTT over TLS; off when unset"),
  MQTT_TLS_CERT: z.string().optional().describe("PEM certificate file for MQTT_TLS_PORT"),
  MQTT_TLS_KEY: z.string().optional().describe("PEM key file for MQTT_TLS_PORT"),
  MQTT_HOST: z.string().default("0.0.0.0").describe("address the broker listeners bind to"),
});

export const mqttBrokerVars = z.object({
  MQTT_ALLOW_ANONYMOUS: bool.default(false).describe("development only: any client may use non-fleet topics"),
  BROKER_CLUSTER: z
    .enum(["off", "redis"])
    .default("off")
    .describe("redis: broker nodes share sessions and routing through Redis"),
  PRESENCE_GRACE_S: z.coerce
    .number()
    .int()
    .min(0)
    .default(30)
    .describe(
      "a vehicle whose last MQTT session ended (DISCONNECT, keepalive expiry, revoked, its node gone) is offline after this many seconds without a new one; a reconnect within it is no event",
    ),
});

/** What one device, one connection or all of them may hold of the embedded broker. */
export const mqttLimitVars = z.object({
  DEVICE_RATE_LIMIT: positiveInt
    .default(1000)
    .describe(
      "fixes per second per device (a message costs its fixes, at least 1); above it PUBACKs are delayed, past half HOLD_CAP_MS refused (no PUBACK, the device resends)",
    ),
  DEVICE_RATE_BURST: positiveInt
    .default(5000)
    .describe("fixes a device may send at once before DEVICE_RATE_LIMIT applies"),
  COMMAND_ACK_RATE: positiveInt
    .default(10)
    .describe(
      "command answers (fleet/{id}/commands/ack) per second per device; above it delayed, past half HOLD_CAP_MS refused",
    ),
  COMMAND_ACK_BURST: positiveInt
    .default(100)
    .describe("command answers a device may send at once before COMMAND_ACK_RATE applies"),
  MQTT_MAX_HELD_PER_CONNECTION: positiveInt
    .default(1000)
    .describe("messages of one connection in the bridge at once; more wait unread (PUBACK later)"),
  MQTT_MAX_HELD: positiveInt
    .default(20_000)
    .describe("messages of all connections in the bridge at once; more wait unread (PUBACK later)"),
  MQTT_MAX_PACKET_BYTES: positiveInt
    .default(2 * 1024 * 1024)
    .describe(
      "an MQTT packet declaring more is not buffered: the connection is closed (over WebSocket: a message above it plus 64 KiB, close code 1009)",
    ),
  MQTT_CONNECT_RATE: positiveInt
    .default(2000)
    .describe(
      "new MQTT connections accepted per second, all addresses together; above it CONNACK 3 (server unavailable)",
    ),
  MQTT_MAX_CONNECTIONS_PER_ADDRESS: nonNegativeInt
    .default(2000)
    .describe(
      "open MQTT connections (TCP, TLS and WebSocket together) from one source address, counted before a byte is read; more are reset. 0 = no cap. Devices behind one NAT share an address",
    ),
  MQTT_MAX_CONNECTIONS: nonNegativeInt
    .default(20000)
    .describe(
      "open MQTT connections on this broker node, all addresses together; more are reset. Keep it below the process's open-file limit (ulimit -n) with room for PostgreSQL and Redis. 0 = no cap",
    ),
  MQTT_CONNECT_TIMEOUT_MS: positiveInt
    .default(10000)
    .describe("a connection that has not sent CONNECT this long after it opened is closed"),
  MQTT_CONNECT_RATE_PER_ADDRESS: positiveInt
    .default(500)
    .describe(
      "new MQTT connections accepted per second from one source address (IPv6: one /64), before MQTT_CONNECT_RATE; above it CONNACK 3. Devices behind one NAT or TCP load balancer share an address",
    ),
  MQTT_MAX_PENDING_AUTH: positiveInt
    .default(1000)
    .describe("MQTT authentications in progress at once; above it CONNACK 3 (server unavailable)"),
  MQTT_MAX_SUBSCRIBER_BUFFER_BYTES: positiveInt
    .default(4 * 1024 * 1024)
    .describe("a subscriber with more unsent bytes than this is disconnected (it stopped reading)"),
  MQTT_DRAIN_TIMEOUT_MS: positiveInt
    .default(10_000)
    .describe("a subscriber whose socket stays full this long is disconnected, so it cannot stall ingest"),
  BROKER_SHED_LOOP_DELAY_MS: nonNegativeInt
    .default(1000)
    .describe(
      "the broker sheds load when its event-loop delay (p99 over 250 ms) reaches this: it stops reading every client's socket and answers new CONNECTs with CONNACK 3 until every BROKER_SHED_* measure is below BROKER_SHED_RESUME_PERCENT of its threshold. 0 = not watched",
    ),
  BROKER_SHED_HELD: nonNegativeInt
    .default(20_000)
    .describe(
      "the broker sheds load when this many ingest messages are held for the queue or wait at the MQTT_MAX_HELD ceilings. 0 = not watched",
    ),
  BROKER_SHED_QUEUE_MS: nonNegativeInt
    .default(5000)
    .describe(
      "the broker sheds load when the oldest message the bridge holds has waited this long for the queue. 0 = not watched",
    ),
  BROKER_SHED_DISCONNECT_MS: nonNegativeInt
    .default(0)
    .describe(
      "a client with something unread that the broker has not read for this long while it sheds load is disconnected (its device resends what was not acknowledged once a CONNECT is accepted again), so that no PUBACK waits as long as the overload lasts; for clients with no limit on unacknowledged publishes, at a cost in throughput (BENCHMARKS.md). 0 = paused until shedding stops",
    ),
  BROKER_SHED_RESUME_PERCENT: positiveInt
    .max(100)
    .default(50)
    .describe("shedding stops once every BROKER_SHED_* measure is below this percentage of its threshold"),
});

/** bridge/main.ts reading from an external broker; it cannot run without EXTERNAL_MQTT_URL. */
export const externalBrokerVars = z.object({
  EXTERNAL_MQTT_URL: z
    .string({ error: (issue) => (issue.input === undefined ? "required by bridge/main.ts" : undefined) })
    .url()
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
});

// between the two a payload is rejected with E_TOO_LARGE and the connection kept
export const packetAbovePayloadRule = configRule<{
  MQTT_MAX_PACKET_BYTES: number;
  MAX_PAYLOAD_BYTES: number;
}>(["MQTT_MAX_PACKET_BYTES", "MAX_PAYLOAD_BYTES"], (c) => {
  if (c.MQTT_MAX_PACKET_BYTES <= c.MAX_PAYLOAD_BYTES)
    refuse("MQTT_MAX_PACKET_BYTES", "must be above MAX_PAYLOAD_BYTES");
  return undefined;
});

export const tlsRule = configRule<z.output<typeof mqttListenerVars>>(
  ["MQTT_TLS_PORT", "MQTT_TLS_CERT", "MQTT_TLS_KEY"],
  (c) => {
    if (
      (c.MQTT_TLS_CERT === undefined) !== (c.MQTT_TLS_KEY === undefined) ||
      (c.MQTT_TLS_PORT && !c.MQTT_TLS_CERT)
    )
      refuse("MQTT_TLS_PORT", "needs both MQTT_TLS_CERT and MQTT_TLS_KEY");
    return undefined;
  },
);
