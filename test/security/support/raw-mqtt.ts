import { connect, type Socket } from "node:net";

/**
 * MQTT 3.1.1 packets written by hand, so a test can send what no client library would:
 * wrong lengths, a second CONNECT, wildcards in a PUBLISH topic.
 */
export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

export function str(s: string | Buffer): Buffer {
  const b = typeof s === "string" ? Buffer.from(s, "utf8") : s;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function packet(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first]), varint(body.length), body]);
}

export interface ConnectOptions {
  clientId: string;
  username?: string;
  password?: string;
  clean?: boolean;
  keepalive?: number;
  protocolLevel?: number;
}

export function connectPacket(o: ConnectOptions): Buffer {
  let flags = o.clean === false ? 0 : 0x02;
  if (o.username !== undefined) flags |= 0x80;
  if (o.password !== undefined) flags |= 0x40;
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(o.keepalive ?? 60);
  const body = Buffer.concat([
    str("MQTT"),
    Buffer.from([o.protocolLevel ?? 4, flags]),
    keepalive,
    str(o.clientId),
    ...(o.username !== undefined ? [str(o.username)] : []),
    ...(o.password !== undefined ? [str(o.password)] : []),
  ]);
  return packet(0x10, body);
}

export function publishPacket(topic: string, payload: string | Buffer, qos: 0 | 1 = 1, id = 1): Buffer {
  const idBuf = Buffer.alloc(2);
  idBuf.writeUInt16BE(id);
  const body = Buffer.concat([str(topic), ...(qos > 0 ? [idBuf] : []), Buffer.from(payload)]);
  return packet(0x30 | (qos << 1), body);
}

export function subscribePacket(topic: string, qos = 1, id = 1): Buffer {
  const idBuf = Buffer.alloc(2);
  idBuf.writeUInt16BE(id);
  return packet(0x82, Buffer.concat([idBuf, str(topic), Buffer.from([qos])]));
}

export const pingreq = (): Buffer => Buffer.from([0xc0, 0x00]);

export interface RawConnection {
  socket: Socket;
  /** everything the broker sent */
  received(): Buffer;
  /** resolves when the broker (or we) closed the socket */
  closed: Promise<void>;
  isClosed(): boolean;
  /** CONNACK return code once it arrived, else undefined */
  connack(): number | undefined;
}

/**
 * A plain TCP connection to the broker that records what comes back; `localAddress` (any of
 * 127.0.0.0/8 on Linux) makes it come from another source address.
 */
export function openRaw(port: number, localAddress?: string): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", ...(localAddress ? { localAddress } : {}) });
    const chunks: Buffer[] = [];
    let isClosed = false;
    const closed = new Promise<void>((r) =>
      socket.on("close", () => {
        isClosed = true;
        r();
      }),
    );
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", () => {});
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve({
        socket,
        received: () => Buffer.concat(chunks),
        closed,
        isClosed: () => isClosed,
        connack() {
          const b = Buffer.concat(chunks);
          return b.length >= 4 && b[0] === 0x20 ? b[3] : undefined;
        },
      });
    });
    socket.once("error", reject);
  });
}
