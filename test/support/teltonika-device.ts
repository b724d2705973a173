import { connect, type Socket } from "node:net";
import { imeiHandshake } from "./teltonika-codec8-encoder.ts";
import { waitFor } from "./wait.ts";

/** A Teltonika device's TCP connection as the tests drive it: what it sent and what came back. */
export interface TcpDevice {
  socket: Socket;
  /** every byte the server sent so far */
  received(): Buffer;
  closed(): boolean;
  /** waits until the server has sent `n` bytes in all */
  waitForBytes(n: number): Promise<Buffer>;
  waitForClose(): Promise<void>;
}

export async function openTcpDevice(port: number): Promise<TcpDevice> {
  const socket = connect({ host: "127.0.0.1", port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let got = Buffer.alloc(0);
  let isClosed = false;
  socket.on("data", (d) => {
    got = Buffer.concat([got, d]);
  });
  socket.on("error", () => {});
  socket.on("close", () => {
    isClosed = true;
  });
  return {
    socket,
    received: () => got,
    closed: () => isClosed,
    waitForBytes: (n) =>
      waitFor(
        async () => got,
        (b) => b.length >= n || isClosed,
        { timeoutMs: 30_000, intervalMs: 10, what: `${n} bytes from the Teltonika listener` },
      ),
    waitForClose: async () => {
      await waitFor(
        async () => isClosed,
        (c) => c,
        { timeoutMs: 30_000, intervalMs: 10, what: "the server to close the connection" },
      );
    },
  };
}

/** Opens a connection and sends the IMEI handshake; resolves with the server's one-byte answer. */
export async function handshake(port: number, imei: string): Promise<{ device: TcpDevice; answer: number }> {
  const device = await openTcpDevice(port);
  device.socket.write(imeiHandshake(imei));
  const got = await device.waitForBytes(1);
  return { device, answer: got[0] ?? -1 };
}

/** The 4-byte record-count reply to an AVL packet. */
export function countReply(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
