import { connect, type Socket } from "node:net";
import type { ConnectionsRun } from "./results.ts";
import type { Device, Sut } from "./suts.ts";

/** An MQTT 3.1.1 CONNECT packet (clean session, keepalive 60 s, username + password). */
export function connectPacket(clientId: string, username: string, password: string): Buffer {
  const str = (s: string) => {
    const b = Buffer.from(s);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    return Buffer.concat([len, b]);
  };
  const variable = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0xc2, 0, 60]);
  const payload = Buffer.concat([str(clientId), str(username), str(password)]);
  let remaining = variable.length + payload.length;
  const lenBytes: number[] = [];
  do {
    let byte = remaining % 128;
    remaining = Math.floor(remaining / 128);
    if (remaining > 0) byte |= 0x80;
    lenBytes.push(byte);
  } while (remaining > 0);
  return Buffer.concat([Buffer.from([0x10, ...lenBytes]), variable, payload]);
}

/**
 * Opens idle authenticated connections (raw sockets: an mqtt.js client object per connection
 * would measure the load generator, not the broker), spread over 127.0.0.x source addresses to
 * get past the ephemeral-port limit of one address, and reads the broker's resident memory.
 */
export async function idleConnections(
  sut: Sut,
  devices: Device[],
  port: number,
  log: (m: string) => void,
): Promise<ConnectionsRun> {
  const rssBefore = sut.rss();
  const sockets: Socket[] = [];
  let held = 0;
  const batch = 500;
  for (let i = 0; i < devices.length; i += batch) {
    await Promise.all(
      devices.slice(i, i + batch).map(
        (d, k) =>
          new Promise<void>((resolve) => {
            const s = connect({ port, host: "127.0.0.1", localAddress: `127.0.0.${2 + ((i + k) % 50)}` });
            sockets.push(s);
            s.on("error", () => resolve());
            s.once("data", (b: Buffer) => {
              if (b[0] === 0x20 && b[3] === 0) held++;
              resolve();
            });
            s.on("connect", () => s.write(connectPacket(`idle-${d.id}`, d.username, d.password)));
          }),
      ),
    );
    if ((i / batch) % 10 === 0) log(`  ${held} idle connections held`);
  }
  await new Promise((r) => setTimeout(r, 2000));
  const rssAfter = sut.rss();
  for (const s of sockets) s.destroy();
  return {
    target: devices.length,
    held,
    rssBeforeMB: rssBefore / 2 ** 20,
    rssAfterMB: rssAfter / 2 ** 20,
    bytesPerConnection: held > 0 ? (rssAfter - rssBefore) / held : 0,
  };
}
