import { connect as connectTcp, createServer, type Server, type Socket } from "node:net";
import { Aedes } from "aedes";
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from "mqtt";
import { waitFor } from "../support/wait.ts";

/**
 * Helpers of the MQTT 3.1.1 conformance tests (mqtt-311-conformance.test.ts): mqtt.js clients that
 * record what they receive from the first packet on, raw CONNECTs for what mqtt.js will not send,
 * and plain Aedes as the reference broker.
 */

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

export interface Opened {
  client: MqttClient;
  connack: IConnackPacket;
  /** every PUBLISH received, from the one right after the CONNACK on */
  messages: Received[];
  /** the packet types this client sent and received, in order ("send:pubrel", "recv:pubcomp" …) */
  flow: string[];
}

/**
 * Connects an mqtt.js client (MQTT 3.1.1, no reconnect) and resolves with its CONNACK. Listens
 * before connecting: queued messages follow the CONNACK at once, often in the same TCP read.
 */
export function open(url: string, opts: IClientOptions = {}): Promise<Opened> {
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, ...opts });
  const messages: Received[] = [];
  const flow: string[] = [];
  client.on("message", (topic, payload, packet) =>
    messages.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain }),
  );
  client.on("packetsend", (packet) => flow.push(`send:${packet.cmd}`));
  client.on("packetreceive", (packet) => flow.push(`recv:${packet.cmd}`));
  return new Promise((resolve, reject) => {
    client.once("connect", (connack) => resolve({ client, connack, messages, flow }));
    client.once("error", (err) => {
      client.end(true);
      reject(err);
    });
  });
}

/** Waits until `messages` holds one on `topic` (a marker: what the broker sent before it has arrived). */
export function received(
  messages: Received[],
  topic: string | ((m: Received) => boolean),
  what = String(topic),
): Promise<unknown> {
  const match = typeof topic === "string" ? (m: Received) => m.topic === topic : topic;
  return waitFor(
    async () => messages.some(match),
    (ok) => ok,
    { timeoutMs: 10_000, what },
  );
}

export interface WillOptions {
  topic: string;
  payload: string;
  qos: 0 | 1 | 2;
}

/** A CONNECT packet (MQTT 3.1.1), built by hand: mqtt.js never sends some of these. */
export function connectPacket(o: {
  clientId: string;
  clean: boolean;
  keepalive: number;
  will?: WillOptions;
  username?: string;
  password?: string;
}): Buffer {
  const str = (s: string) => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  };
  const flags =
    (o.clean ? 0x02 : 0) |
    (o.will ? 0x04 | (o.will.qos << 3) : 0) |
    (o.username !== undefined ? 0x80 : 0) |
    (o.password !== undefined ? 0x40 : 0);
  const will = o.will ? [str(o.will.topic), str(o.will.payload)] : [];
  const credentials = [o.username, o.password].filter((c) => c !== undefined).map(str);
  const body = Buffer.concat([
    str("MQTT"),
    Buffer.from([4, flags, o.keepalive >> 8, o.keepalive & 0xff]),
    str(o.clientId),
    ...will,
    ...credentials,
  ]);
  const length: number[] = [];
  let n = body.length;
  do {
    const byte = n % 128;
    n = Math.floor(n / 128);
    length.push(n > 0 ? byte | 0x80 : byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x10, ...length]), body]);
}

export interface RawConnection {
  socket: Socket;
  /** the CONNACK's 4 bytes */
  connack: Promise<Buffer>;
  /** resolves when the broker closes the connection */
  closed: Promise<void>;
}

/** Opens a TCP connection, sends `bytes`, and sends nothing else (not even PINGREQ). */
export function raw(port: number, bytes: Buffer): RawConnection {
  const socket = connectTcp(port, "127.0.0.1", () => socket.write(bytes));
  let got = Buffer.alloc(0);
  const connack = new Promise<Buffer>((resolve, reject) => {
    socket.on("data", (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4) resolve(got.subarray(0, 4));
    });
    socket.on("close", () => reject(new Error(`closed after ${got.length} bytes, before a CONNACK`)));
  });
  connack.catch(() => {});
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  socket.on("error", () => {});
  return { socket, connack, closed };
}

export interface PlainAedes {
  port: number;
  close(): Promise<void>;
}

/** The reference: a bare Aedes 1.2 (in-memory persistence, no hooks) on a TCP server of its own. */
export async function startPlainAedes(): Promise<PlainAedes> {
  const aedes = new Aedes();
  await aedes.listen();
  const server: Server = createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no TCP address");
  return {
    port: address.port,
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
