import fc from "fast-check";
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeviceCredentials } from "../../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";
import {
  connectPacket,
  openRaw,
  publishPacket,
  type RawConnection,
  str,
  subscribePacket,
  varint,
} from "./support/raw-mqtt.ts";

// Malformed MQTT on a raw socket: the broker drops that client and keeps serving the others. After
// every case a healthy device publishes a fix, and every one of those is stored.
describe("raw malformed MQTT packets", () => {
  let p: TestPlatform;
  let bad: DeviceCredentials;
  let healthy: MqttClient;
  let healthyId: string;
  let healthyPublishes = 0;
  let tried = 0;
  const now = Date.now();

  beforeAll(async () => {
    p = await startPlatform();
    const [a, b] = (await p.register("raw", 2)) as [DeviceCredentials, DeviceCredentials];
    bad = a;
    healthyId = b.id;
    healthy = await p.connect(b);
  });
  afterAll(() => p?.close());

  async function stillServing(): Promise<void> {
    healthyPublishes++;
    await healthy.publishAsync(
      `fleet/${healthyId}/location`,
      JSON.stringify({ lat: 25, lng: 55, recordedAt: now - 600_000 + healthyPublishes }),
      { qos: 1 },
    );
  }

  async function closedBy(raw: RawConnection): Promise<void> {
    await waitFor(
      async () => raw.isClosed(),
      (c) => c,
      { timeoutMs: 10_000, what: "the broker to close the connection" },
    );
  }

  /** A connection authenticated as the bad device, then `bytes`. */
  async function afterConnect(bytes: Buffer): Promise<RawConnection> {
    const raw = await openRaw(p.broker.ports.mqtt);
    raw.socket.write(
      connectPacket({
        clientId: `${bad.username}:bad-${tried}`,
        username: bad.username,
        password: bad.password,
      }),
    );
    await waitFor(
      async () => raw.connack(),
      (c) => c !== undefined,
      { what: "CONNACK", intervalMs: 5 },
    );
    expect(raw.connack()).toBe(0);
    raw.socket.write(bytes);
    return raw;
  }

  const deep = Array.from({ length: 200 }, () => "a").join("/");
  const cases: [string, () => Promise<RawConnection>][] = [
    [
      "a remaining length of five bytes (invalid varint)",
      async () => {
        const raw = await openRaw(p.broker.ports.mqtt);
        raw.socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]));
        return raw;
      },
    ],
    [
      "a bad remaining length after CONNECT",
      () => afterConnect(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])),
    ],
    [
      "CONNECT twice",
      () =>
        afterConnect(
          connectPacket({
            clientId: `${bad.username}:again`,
            username: bad.username,
            password: bad.password,
          }),
        ),
    ],
    ["a PUBLISH to a topic with +", () => afterConnect(publishPacket(`fleet/+/location`, "{}"))],
    ["a PUBLISH to a topic with #", () => afterConnect(publishPacket("fleet/#", "{}"))],
    ["a PUBLISH to a 200-level topic", () => afterConnect(publishPacket(deep, "{}"))],
    ["a PUBLISH to an empty topic", () => afterConnect(publishPacket("", "{}"))],
    [
      "a PUBLISH with both QoS bits set",
      () => afterConnect(Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01])),
    ],
    ["a SUBSCRIBE asking QoS 3", () => afterConnect(subscribePacket("fleet/x/errors", 3))],
    [
      "a SUBSCRIBE with wrong header flags",
      () => afterConnect(Buffer.from([0x80, 0x06, 0x00, 0x01, ...str("a"), 0x01])),
    ],
    ["a reserved packet type (0)", () => afterConnect(Buffer.from([0x00, 0x00]))],
    ["an AUTH packet (MQTT 5) on 3.1.1", () => afterConnect(Buffer.from([0xf0, 0x00]))],
    [
      "a PUBLISH to another vehicle's topic",
      () => afterConnect(publishPacket(`fleet/${healthyId}/location`, "{}")),
    ],
    ["a topic with NUL", () => afterConnect(publishPacket(`fleet/${bad.id}\u0000/location`, "{}"))],
    [
      "a topic of invalid UTF-8",
      () => afterConnect(Buffer.concat([Buffer.from([0x30, 0x05]), str(Buffer.from([0xff, 0xfe, 0xfd]))])),
    ],
    [
      "a packet declaring 100 MB (MQTT_MAX_PACKET_BYTES)",
      () =>
        afterConnect(
          Buffer.concat([Buffer.from([0x30]), varint(100 * 1024 * 1024), Buffer.alloc(64 * 1024)]),
        ),
    ],
    [
      "PUBLISH before CONNECT",
      async () => {
        const raw = await openRaw(p.broker.ports.mqtt);
        raw.socket.write(publishPacket(`fleet/${bad.id}/location`, "{}"));
        return raw;
      },
    ],
    [
      "a 1 KB client id (CONNACK 2)",
      async () => {
        const raw = await openRaw(p.broker.ports.mqtt);
        raw.socket.write(
          connectPacket({ clientId: "x".repeat(1024), username: bad.username, password: bad.password }),
        );
        return raw;
      },
    ],
    [
      "a CONNECT naming another protocol",
      async () => {
        const raw = await openRaw(p.broker.ports.mqtt);
        const body = Buffer.concat([str("MQTX"), Buffer.from([4, 0x02, 0, 60]), str("c")]);
        raw.socket.write(Buffer.concat([Buffer.from([0x10]), varint(body.length), body]));
        return raw;
      },
    ],
    [
      "a CONNECT with protocol level 9",
      async () => {
        const raw = await openRaw(p.broker.ports.mqtt);
        raw.socket.write(connectPacket({ clientId: "lvl9", protocolLevel: 9 }));
        return raw;
      },
    ],
    [
      "a CONNECT without credentials",
      async () => {
        const raw = await openRaw(p.broker.ports.mqtt);
        raw.socket.write(connectPacket({ clientId: "anon" }));
        return raw;
      },
    ],
    [
      "HTTP on the MQTT port",
      async () => {
        const raw = await openRaw(p.broker.ports.mqtt);
        raw.socket.write("GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\r\n");
        return raw;
      },
    ],
    [
      "a TLS ClientHello on the plain port",
      async () => {
        const raw = await openRaw(p.broker.ports.mqtt);
        raw.socket.write(Buffer.from("16030100a5010000a10303", "hex"));
        return raw;
      },
    ],
  ];

  for (const [name, send] of cases) {
    it(`drops a client sending ${name}, and keeps serving the others`, async () => {
      tried++;
      const raw = await send();
      await closedBy(raw);
      await stillServing();
      expect(healthy.connected).toBe(true);
    });
  }

  it("survives 300 random byte strings after a CONNECT, and 300 before one", async () => {
    const samples = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 512 }), { numRuns: 600, seed: 8 });
    for (const [i, bytes] of samples.entries()) {
      tried++;
      const raw = i < 300 ? await afterConnect(Buffer.from(bytes)) : await openRaw(p.broker.ports.mqtt);
      if (i >= 300) raw.socket.write(Buffer.from(bytes));
      // a valid-looking prefix may wait for more bytes: then we hang up ourselves
      await new Promise((r) => setTimeout(r, 5));
      raw.socket.destroy();
      if (i % 50 === 49) await stillServing();
    }
    await stillServing();
    expect(healthy.connected).toBe(true);
  });

  it("stored every fix of the healthy device", async () => {
    const rows = await waitFor(
      () => p.rowCount(),
      (n) => n >= healthyPublishes,
      { what: `${healthyPublishes} rows` },
    );
    expect(rows).toBe(healthyPublishes);
    console.log(`raw packet cases tried: ${tried} (${cases.length} named, the rest random)`);
  });
});
