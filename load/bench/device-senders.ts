import { Agent, request } from "node:http";
import { connect, type Socket } from "node:net";
import { encodeAvlPacket, imeiHandshake } from "../../simulator/teltonika-codec8.ts";

/** A bench device: sends one message, resolves on its acknowledgement with the time it took, ms. */
export interface Sender {
  send(fixes: BenchFix[]): Promise<number>;
  close(): void;
}

export interface BenchFix {
  lat: number;
  lng: number;
  recordedAt: number;
  speed: number;
  heading: number;
}

/**
 * A Teltonika device over TCP: the IMEI handshake, then Codec 8E packets, pipelined (the server
 * reads the next packet once it has answered one, so answers come back in order: each 4-byte
 * record count settles the oldest packet waiting).
 */
export async function teltonikaSender(url: string, imei: string): Promise<Sender> {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect({ host: hostname, port: Number(port) });
  socket.setNoDelay(true);
  const waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  let buf = Buffer.alloc(0);
  let accepted: (ok: boolean) => void = () => {};
  const handshake = new Promise<boolean>((r) => {
    accepted = r;
  });
  let shaken = false;
  socket.on("connect", () => socket.write(imeiHandshake(imei)));
  socket.on("data", (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    if (!shaken && buf.length >= 1) {
      shaken = true;
      accepted(buf[0] === 0x01);
      buf = buf.subarray(1);
    }
    while (buf.length >= 4 && waiting.length > 0) {
      buf = buf.subarray(4);
      waiting.shift()?.resolve();
    }
  });
  const fail = (err: Error) => {
    accepted(false);
    for (const w of waiting.splice(0)) w.reject(err);
  };
  socket.on("error", fail);
  socket.on("close", () => fail(new Error("connection closed")));
  if (!(await handshake)) throw new Error(`IMEI ${imei} refused`);
  return {
    send(fixes) {
      const packet = encodeAvlPacket(
        0x8e,
        fixes.map((f) => ({
          timestamp: f.recordedAt,
          lat: f.lat,
          lng: f.lng,
          satellites: 9,
          speed: Math.round(f.speed),
          angle: Math.round(f.heading) % 360,
          io: [{ id: 239, size: 1, value: 1 }],
        })),
      );
      const t0 = performance.now();
      return new Promise<void>((resolve, reject) => {
        waiting.push({ resolve, reject });
        socket.write(packet);
      }).then(() => performance.now() - t0);
    },
    close: () => socket.destroy(),
  };
}

/**
 * A phone running Traccar Client: one HTTP POST of its JSON per fix, 200 once queued, over one
 * kept-open connection, one request at a time as the app sends them (a request per fix each on a
 * connection of its own overflowed the listener's accept queue and measured TCP retries instead).
 */
export function osmandSender(url: string, deviceKey: string): Sender {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const post = (body: string) =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        url,
        {
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on("end", () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  return {
    async send(fixes) {
      const t0 = performance.now();
      for (const f of fixes) {
        await post(
          JSON.stringify({
            location: {
              timestamp: new Date(f.recordedAt).toISOString(),
              coords: { latitude: f.lat, longitude: f.lng, speed: f.speed / 3.6, heading: f.heading },
            },
            device_id: deviceKey,
          }),
        );
      }
      return performance.now() - t0;
    },
    close: () => agent.destroy(),
  };
}
