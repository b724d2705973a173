import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { DeviceCredentials } from "../../../core/vehicles.ts";
import { withClientId } from "../../support/client-id.ts";
import { startPlatform, type TestPlatform } from "../../support/platform.ts";
import { waitFor } from "../../support/wait.ts";

// Security review finding 3 (docs/security.md): the MQTT-over-WebSocket listener used ws's default
// maxPayload (100 MiB), so a stranger could make the broker buffer a whole 100 MiB frame, before
// CONNECT, on each of as many sockets as it liked: the packet-size check comes only after ws has
// handed the frame on. A frame above the MQTT packet cap now closes the socket as soon as its
// header is read, with close code 1009 (message too big).
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const MiB = 1024 * 1024;
const SOCKETS = 8;
const FRAME = 32 * MiB;

/** Live heap and Buffers of this process (the broker runs in it): after a full collection. */
function memory(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe("finding 3: a WebSocket frame above the MQTT packet cap is refused before it is buffered", () => {
  let p: TestPlatform | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  it("finding 3: 8 sockets each sending one 32 MiB frame before CONNECT are closed with 1009, broker memory flat; devices carry on", async () => {
    p = await startPlatform();
    const url = `ws://127.0.0.1:${p.broker.ports.ws}/mqtt`;
    // one frame for every socket, sent unmasked-in-effect (a zero mask): the attacker's side
    // allocates nothing per socket, so what this process grows by is the broker's doing
    const frame = Buffer.alloc(FRAME);
    gc();
    const before = memory();
    let peak = before;
    // live memory only: what a refused socket read and dropped is garbage, not buffered
    const sampler = setInterval(() => {
      peak = Math.max(peak, memory());
    }, 5);

    const codes = await Promise.all(
      Array.from(
        { length: SOCKETS },
        () =>
          new Promise<number>((resolve) => {
            const ws = new WebSocket(url, "mqtt", { generateMask: (mask) => mask.fill(0) });
            ws.on("error", () => {});
            ws.on("open", () => ws.send(frame, { binary: true }));
            ws.on("close", (code) => resolve(code));
          }),
      ),
    );
    clearInterval(sampler);
    const growth = peak - before;
    console.log(`close codes ${codes.join(",")}; broker peak +${(growth / MiB).toFixed(1)} MiB`);
    expect(codes).toEqual(Array(SOCKETS).fill(1009));
    // generous: without the cap each socket buffers its whole frame (8 × 32 MiB, and a copy)
    expect(growth).toBeLessThan((SOCKETS * FRAME) / 4);

    // a device over WebSocket: a packet just under MQTT_MAX_PACKET_BYTES still passes the frame
    // cap (acknowledged, rejected E_TOO_LARGE by the payload cap), and a fix is stored
    const [creds] = (await p.register("ws-cap", 1)) as [DeviceCredentials];
    const device = await mqtt.connectAsync(
      url,
      withClientId({ username: creds.username, password: creds.password, reconnectPeriod: 0 }),
    );
    try {
      const topic = `fleet/${creds.id}/location`;
      await device.publishAsync(topic, Buffer.alloc(p.config.MQTT_MAX_PACKET_BYTES - 1024, 0x20), { qos: 1 });
      await device.publishAsync(topic, JSON.stringify({ lat: 25.2, lng: 55.3, recordedAt: Date.now() }), {
        qos: 1,
      });
      const platform = p;
      await waitFor(
        () => platform.rowCount(),
        (n) => n === 1,
        { what: "the fix sent over WebSocket" },
      );
    } finally {
      await device.endAsync(true);
    }
  });
});
