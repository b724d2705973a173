import type { Socket } from "node:net";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_AVL_ATTRIBUTES_BYTES } from "../../bridge/adapters/teltonika-avl.ts";
import { createImeiResolver } from "../../bridge/imei-resolver.ts";
import { COMMAND, decodeCodec12, encodeCodec12, RESPONSE } from "../../broker/teltonika-codec12.ts";
import { createTeltonikaCommands } from "../../broker/teltonika-commands.ts";
import { listenTeltonika } from "../../broker/teltonika-tcp.ts";
import { labelledField } from "../../core/metrics-catalogue.ts";
import { redisKeys } from "../../core/redis.ts";
import { addVehicle } from "../../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { type EncodableRecord, encodeAvlPacket } from "../support/teltonika-codec8-encoder.ts";
import { countReply, handshake, type TcpDevice } from "../support/teltonika-device.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { type ProtocolApi, startProtocolApi } from "./api.ts";
import { storedFixes, waitForFixes } from "./clients.ts";

// A Teltonika FMB device over TCP against the broker process's listener (TELTONIKA_TCP_PORT),
// the real bridge, worker and PostgreSQL. BATCH_MS is long enough (1 s) that a packet's records
// are seen held in the bridge, its reply not yet sent, so "killed before the reply" is certain.
const IMEI_BASE = 356307042441100;
let nextImei = IMEI_BASE;

function records(n: number, base = Date.now() - 3_600_000): EncodableRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    timestamp: base + i * 10_000,
    priority: 0,
    lng: 55.2707823 + i * 0.001,
    lat: 25.2048493 + i * 0.001,
    altitude: 12,
    angle: 90,
    satellites: 11,
    speed: 40 + i,
    eventIo: 0,
    io: [
      { id: 239, size: 1, value: 1 },
      { id: 66, size: 2, value: 12_302 },
      { id: 16, size: 4, value: 100_000 + i * 150 },
    ],
  }));
}

describe("Teltonika Codec 8/8E over TCP", () => {
  let p: TestPlatform;
  let port: number;
  const devices: TcpDevice[] = [];
  const sockets = () => devices.map((d) => d.socket);

  async function register(): Promise<{ id: string; imei: string }> {
    const imei = String(nextImei++);
    const v = await addVehicle(p.pool, { id: `tlt-${imei.slice(-4)}`, imei });
    return { id: v.id, imei };
  }
  async function connected(imei: string): Promise<TcpDevice> {
    const { device, answer } = await handshake(port, imei);
    devices.push(device);
    expect(answer).toBe(0x01);
    return device;
  }
  const refused = async (reason: string) =>
    Number((await p.redis.hget(redisKeys.metrics, labelledField("teltonika_tcp_refused", reason))) ?? 0);

  beforeAll(async () => {
    p = await startPlatform({ env: { TELTONIKA_TCP_PORT: "0", BATCH_MS: "1000" } });
    port = p.broker.ports.teltonika as number;
  });
  afterAll(async () => {
    for (const s of sockets()) (s as Socket).destroy();
    await p?.close();
  });

  it("is off unless TELTONIKA_TCP_PORT is set", async () => {
    const plain = await startPlatform({ worker: false });
    try {
      expect(plain.broker.ports.teltonika).toBeUndefined();
    } finally {
      await plain.close();
    }
  });

  it("answers the IMEI handshake with 0x01 for a registered IMEI, 0x00 and a close for an unknown one", async () => {
    const v = await register();
    await connected(v.imei);
    const before = await refused("unknown_imei");
    const { device, answer } = await handshake(port, "356307049999999");
    devices.push(device);
    expect(answer).toBe(0x00);
    await device.waitForClose();
    expect(await refused("unknown_imei")).toBe(before + 1);
  });

  it("logs refused IMEIs at warn once per interval with their count, however often a device retries", async () => {
    const lines: { level: number; msg: string; refused?: number }[] = [];
    const log = pino({ level: "debug" }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const listener = await listenTeltonika({
      port: 0,
      host: "127.0.0.1",
      maxPayloadBytes: p.config.MAX_PAYLOAD_BYTES,
      idleTimeoutMs: 10_000,
      handshakeTimeoutMs: 10_000,
      resolveImei: createImeiResolver(p.pool),
      ingest: (msg) => p.bridge.ingest(msg),
      count: () => {},
      commands: createTeltonikaCommands({ pool: p.pool, log }),
      log,
    });
    try {
      for (let i = 0; i < 5; i++) {
        const { device, answer } = await handshake(listener.port, "356307049999998");
        expect(answer).toBe(0x00);
        await device.waitForClose();
      }
      const refusedLines = lines.filter((l) => l.msg.startsWith("teltonika IMEI not registered"));
      expect(refusedLines.map((l) => l.level)).toEqual([40, 20, 20, 20, 20]);
      expect(refusedLines[0]?.refused).toBe(1);
    } finally {
      listener.close();
      listener.closeConnections();
    }
  });

  it("stores a Codec 8E packet's records and replies with their count once they are queued", async () => {
    const v = await register();
    const device = await connected(v.imei);
    const sent = records(3);
    device.socket.write(encodeAvlPacket(0x8e, sent));
    const got = await device.waitForBytes(1 + 4);
    expect(got.subarray(1)).toEqual(countReply(3));
    const rows = await waitForFixes(p.pool, v.id, 3);
    expect(rows.map((r) => [r.recordedAt, r.lat, r.lng, r.speed, r.ignition])).toEqual(
      sent.map((r) => [r.timestamp, r.lat, r.lng, r.speed, true]),
    );
    expect(rows[0]?.odometer).toBe(100);
    const attrs = await p.pool.query<{ attributes: Record<string, unknown> }>(
      "SELECT attributes FROM vehicle_locations WHERE vehicle_id = $1 ORDER BY recorded_at",
      [v.id],
    );
    expect(attrs.rows[1]?.attributes).toEqual({
      priority: 0,
      eventIo: 0,
      satellites: 11,
      io239: 1,
      io66: 12_302,
      io16: 100_150,
      externalVoltage: 12.302,
    });
  });

  it("a device killed before the reply reconnects and resends: the records are stored once", async () => {
    const v = await register();
    const first = await connected(v.imei);
    const packet = encodeAvlPacket(0x08, records(2));
    first.socket.write(packet);
    // the records are in the bridge, not yet queued: the reply has not gone out
    await waitFor(
      async () => p.bridge.held,
      (n) => n > 0,
      { intervalMs: 5, what: "the packet held in the bridge" },
    );
    // a reply already written would be read by now: loopback delivers within the event loop turn
    await sleep(50);
    expect(first.received()).toEqual(Buffer.from([0x01]));
    first.socket.destroy();

    const again = await connected(v.imei);
    again.socket.write(packet);
    expect((await again.waitForBytes(5)).subarray(1)).toEqual(countReply(2));
    await waitForFixes(p.pool, v.id, 2);
    // both copies reached the worker (the second counted duplicate), one is stored
    await waitFor(
      async () => Number((await p.redis.hget(redisKeys.metrics, "worker_fixes_duplicate")) ?? 0),
      (n) => n >= 2,
      { what: "the resent copy counted as duplicates" },
    );
    expect(await storedFixes(p.pool, v.id)).toHaveLength(2);
  });

  it("a packet failing its CRC gets no reply and is counted; the connection goes on", async () => {
    const v = await register();
    const device = await connected(v.imei);
    const before = await refused("crc");
    const bad = encodeAvlPacket(0x08, records(1));
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0xff;
    device.socket.write(bad);
    await waitFor(
      () => refused("crc"),
      (n) => n === before + 1,
      { what: "the CRC mismatch counted" },
    );
    device.socket.write(encodeAvlPacket(0x08, records(2, Date.now() - 7_200_000)));
    const got = await device.waitForBytes(5);
    // the one reply is the good packet's: 2, nothing for the bad one
    expect(got).toEqual(Buffer.concat([Buffer.from([0x01]), countReply(2)]));
    expect(device.closed()).toBe(false);
    await waitForFixes(p.pool, v.id, 2);
  });

  it("a packet split over two writes waits for the rest", async () => {
    const v = await register();
    const device = await connected(v.imei);
    const packet = encodeAvlPacket(0x8e, records(2));
    device.socket.write(packet.subarray(0, 13));
    await sleep(300);
    expect(device.received()).toEqual(Buffer.from([0x01]));
    device.socket.write(packet.subarray(13));
    expect((await device.waitForBytes(5)).subarray(1)).toEqual(countReply(2));
    await waitForFixes(p.pool, v.id, 2);
  });

  it("garbage or an oversized length closes that connection only; another device goes on", async () => {
    const a = await register();
    const b = await register();
    const c = await register();
    const good = await connected(a.imei);
    const garbage = await connected(b.imei);
    const huge = await connected(c.imei);
    const [bad0, big0] = [await refused("bad_stream"), await refused("oversized")];

    garbage.socket.write(Buffer.from("GET / HTTP/1.1\r\n\r\n"));
    await garbage.waitForClose();
    const header = Buffer.alloc(8);
    header.writeUInt32BE(p.config.MAX_PAYLOAD_BYTES + 1, 4);
    huge.socket.write(header);
    await huge.waitForClose();
    expect([await refused("bad_stream"), await refused("oversized")]).toEqual([bad0 + 1, big0 + 1]);

    good.socket.write(encodeAvlPacket(0x08, records(1)));
    expect((await good.waitForBytes(5)).subarray(1)).toEqual(countReply(1));
    expect(good.closed()).toBe(false);
    await waitForFixes(p.pool, a.id, 1);
  });

  it("a zero-satellite record is dead-lettered as E_NO_FIX, acknowledged with the packet", async () => {
    const v = await register();
    const device = await connected(v.imei);
    const [fix] = records(1);
    device.socket.write(
      encodeAvlPacket(0x08, [
        fix as EncodableRecord,
        { timestamp: Date.now() - 60_000, lng: 0, lat: 0, satellites: 0 },
      ]),
    );
    expect((await device.waitForBytes(5)).subarray(1)).toEqual(countReply(2));
    await waitForFixes(p.pool, v.id, 1);
    const dead = await waitFor(
      async () =>
        (
          await p.pool.query<{ reason: string; topic: string }>(
            "SELECT reason, topic FROM rejected_messages WHERE vehicle_id = $1",
            [v.id],
          )
        ).rows,
      (rows) => rows.length > 0,
      { what: "the dead letter row" },
    );
    expect(dead).toEqual([{ reason: "E_NO_FIX", topic: `${v.imei}/data` }]);
  });
  it("a record whose IO elements exceed the attributes cap is dead-lettered E_TOO_LARGE, its packet's others stored", async () => {
    const v = await register();
    const device = await connected(v.imei);
    const [good] = records(1);
    const huge: EncodableRecord = {
      ...(good as EncodableRecord),
      timestamp: (good as EncodableRecord).timestamp + 60_000,
      io: [{ id: 10_000, size: "x", value: "ab".repeat(MAX_AVL_ATTRIBUTES_BYTES / 2 + 1) }],
    };
    device.socket.write(encodeAvlPacket(0x8e, [good as EncodableRecord, huge]));
    expect((await device.waitForBytes(5)).subarray(1)).toEqual(countReply(2));
    await waitForFixes(p.pool, v.id, 1);
    const dead = await waitFor(
      async () =>
        (
          await p.pool.query<{ reason: string; detail: string }>(
            "SELECT reason, detail FROM rejected_messages WHERE vehicle_id = $1",
            [v.id],
          )
        ).rows,
      (rows) => rows.length > 0,
      { what: "the oversized record's dead letter" },
    );
    expect(dead).toEqual([{ reason: "E_TOO_LARGE", detail: expect.stringContaining("attributes") }]);
    expect(await storedFixes(p.pool, v.id)).toHaveLength(1);
  });
});

describe("Teltonika Codec 12 downlink over TCP", () => {
  let p: TestPlatform;
  let api: ProtocolApi;
  const devices: TcpDevice[] = [];
  beforeAll(async () => {
    p = await startPlatform({ env: { TELTONIKA_TCP_PORT: "0" } });
    api = await startProtocolApi(p);
  });
  afterAll(async () => {
    for (const d of devices) d.socket.destroy();
    await api?.close();
    await p?.close();
  });
  const command = async (vehicleId: string, payload: unknown) => {
    const res = await api.app.inject({
      method: "POST",
      url: `/api/vehicles/${vehicleId}/commands`,
      headers: api.admin,
      payload: { payload },
    });
    expect(res.statusCode, res.body).toBe(202);
    return res.json().id as string;
  };
  const status = async (vehicleId: string, id: string) =>
    (await api.app.inject({ url: `/api/vehicles/${vehicleId}/commands/${id}`, headers: api.viewer })).json();

  it("a text command reaches the device as Codec 12; its response is the command's result", async () => {
    const imei = "356307042441501";
    const v = await addVehicle(p.pool, { id: "tlt-c12", imei });
    // a command created while the device is away is sent when it connects
    const early = await command(v.id, "getver");
    const { device, answer } = await handshake(p.broker.ports.teltonika as number, imei);
    devices.push(device);
    expect(answer).toBe(0x01);
    const first = encodeCodec12(COMMAND, "getver");
    expect((await device.waitForBytes(1 + first.length)).subarray(1)).toEqual(first);
    device.socket.write(encodeCodec12(RESPONSE, "Ver:03.25.14 GPS:AXN_5.1.9 Hw:FMB920"));
    await waitFor(
      () => status(v.id, early),
      (c) => c.status === "acked",
      { what: "the getver command acked" },
    );
    expect((await status(v.id, early)).response).toBe("Ver:03.25.14 GPS:AXN_5.1.9 Hw:FMB920");

    const id = await command(v.id, "setdigout 1");
    const second = encodeCodec12(COMMAND, "setdigout 1");
    const got = await device.waitForBytes(1 + first.length + second.length);
    expect(decodeCodec12(got.subarray(1 + first.length))).toEqual({ type: COMMAND, text: "setdigout 1" });
    device.socket.write(encodeCodec12(RESPONSE, "DOUT1:1 Timeout:INFINITY"));
    const done = await waitFor(
      () => status(v.id, id),
      (c) => c.status === "acked",
      { what: "the setdigout command acked" },
    );
    expect(done.response).toBe("DOUT1:1 Timeout:INFINITY");
    // AVL data still flows on the same connection
    device.socket.write(encodeAvlPacket(0x8e, records(1)));
    const all = await device.waitForBytes(1 + first.length + second.length + 4);
    expect(all.subarray(-4)).toEqual(countReply(1));
  });
  it("refuses a text command Codec 12 cannot carry (empty, > 512, non-ASCII, newline) with 400 and the reason", async () => {
    const v = await addVehicle(p.pool, { id: "tlt-c12-bad", imei: "356307042441502" });
    for (const [payload, reason] of [
      ["", "is empty"],
      ["x".repeat(513), "513 characters"],
      ["café", "printable ASCII"],
      ["line\nbreak", "printable ASCII"],
    ]) {
      const res = await api.app.inject({
        method: "POST",
        url: `/api/vehicles/${v.id}/commands`,
        headers: api.admin,
        payload: { payload },
      });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json()).toMatchObject({ code: "E_VALIDATION", field: "body.payload" });
      expect(res.json().message).toContain(reason);
    }
    expect((await p.pool.query("SELECT 1 FROM commands WHERE vehicle_id = $1", [v.id])).rowCount).toBe(0);
    // a vehicle without an IMEI receives any text over MQTT, and JSON goes to any vehicle
    const mqttOnly = await addVehicle(p.pool, { id: "tlt-c12-mqtt" });
    await command(mqttOnly.id, "line\nbreak");
    await command(v.id, { action: "lock" });
  });
});

describe("Teltonika TCP follows the vehicle's registration at once", () => {
  let p: TestPlatform;
  let api: ProtocolApi;
  const devices: TcpDevice[] = [];
  beforeAll(async () => {
    p = await startPlatform({ env: { TELTONIKA_TCP_PORT: "0" } });
    api = await startProtocolApi(p);
  });
  afterAll(async () => {
    for (const d of devices) d.socket.destroy();
    await api?.close();
    await p?.close();
  });
  const shake = async (imei: string) => {
    const r = await handshake(p.broker.ports.teltonika as number, imei);
    devices.push(r.device);
    return r;
  };
  const patch = async (id: string, body: Record<string, unknown>) => {
    const get = await api.app.inject({ url: `/api/vehicles/${id}`, headers: api.admin });
    return api.app.inject({
      method: "PATCH",
      url: `/api/vehicles/${id}`,
      headers: { ...api.admin, "if-match": get.headers.etag as string },
      payload: body,
    });
  };

  it("a vehicle set inactive or deleted is refused on its next handshake, not a cache TTL later", async () => {
    const inactive = await addVehicle(p.pool, { id: "tlt-off", imei: "356307042442001" });
    const deleted = await addVehicle(p.pool, { id: "tlt-gone", imei: "356307042442002" });
    // both IMEIs are in the listener's cache as registered
    for (const imei of ["356307042442001", "356307042442002"]) expect((await shake(imei)).answer).toBe(0x01);

    expect((await patch(inactive.id, { status: "inactive" })).statusCode).toBe(200);
    const del = await api.app.inject({
      method: "DELETE",
      url: `/api/vehicles/${deleted.id}`,
      headers: api.admin,
    });
    expect(del.statusCode).toBe(204);
    for (const imei of ["356307042442001", "356307042442002"]) {
      const again = await shake(imei);
      expect(again.answer, imei).toBe(0x00);
      await again.device.waitForClose();
    }
    // set active again: served at once too
    expect((await patch(inactive.id, { status: "active" })).statusCode).toBe(200);
    expect((await shake("356307042442001")).answer).toBe(0x01);
  });
  it("an IMEI changed with PATCH is refused at once under the old one and served at once under the new one", async () => {
    const v = await addVehicle(p.pool, { id: "tlt-moved", imei: "356307042442003" });
    expect((await shake("356307042442003")).answer).toBe(0x01);
    // the new IMEI is cached as unknown
    expect((await shake("356307042442004")).answer).toBe(0x00);
    const res = await patch(v.id, { imei: "356307042442004" });
    expect(res.statusCode, res.body).toBe(200);
    expect((await shake("356307042442003")).answer).toBe(0x00);
    expect((await shake("356307042442004")).answer).toBe(0x01);
  });
});

describe("Teltonika Codec 8/8E over MQTT, beside Codec JSON on {imei}/data", () => {
  let p: TestPlatform;
  let api: ProtocolApi;
  beforeAll(async () => {
    p = await startPlatform();
    api = await startProtocolApi(p);
  });
  afterAll(async () => {
    await api?.close();
    await p?.close();
  });

  it("stores a binary packet's records, attributes shown by the positions and track APIs; a bad one is dead-lettered", async () => {
    const imei = "356307042441999";
    const creds = await addVehicle(p.pool, { id: "tlt-mqtt", imei });
    const client = await p.connect(creds);
    const sent = records(2);
    await client.publishAsync(`${imei}/data`, encodeAvlPacket(0x8e, sent), { qos: 1 });
    const json = { state: { reported: { ts: Date.now() - 60_000, latlng: "25.3,55.3", "66": "12000" } } };
    await client.publishAsync(`${imei}/data`, JSON.stringify(json), { qos: 1 });
    const broken = encodeAvlPacket(0x08, records(1, Date.now() - 7_200_000));
    broken[broken.length - 1] = 0;
    await client.publishAsync(`${imei}/data`, broken, { qos: 1 });
    const rows = await waitForFixes(p.pool, creds.id, 3);
    expect(rows.slice(0, 2).map((r) => [r.recordedAt, r.lat, r.lng])).toEqual(
      sent.map((r) => [r.timestamp, r.lat, r.lng]),
    );

    const positions = await api.app.inject({ url: "/api/positions", headers: api.viewer });
    const mine = positions.json().items.find((x: { vehicleId: string }) => x.vehicleId === creds.id);
    expect(mine.attributes).toMatchObject({ io66: "12000", externalVoltage: 12 });

    const from = new Date(sent[0]?.timestamp as number).toISOString();
    const to = new Date().toISOString();
    const track = await api.app.inject({
      url: `/api/vehicles/${creds.id}/track?from=${from}&to=${to}`,
      headers: api.viewer,
    });
    const attrs = track.json().properties.coordinateProperties.attributes;
    expect(attrs[0]).toMatchObject({ io239: 1, io16: 100_000, externalVoltage: 12.302 });

    const dead = await waitFor(
      async () =>
        (
          await p.pool.query<{ reason: string; detail: string; payload: string }>(
            "SELECT reason, detail, payload FROM rejected_messages WHERE vehicle_id = $1",
            [creds.id],
          )
        ).rows,
      (r) => r.length > 0,
      { what: "the broken packet's dead letter" },
    );
    expect(dead[0]).toMatchObject({ reason: "E_BAD_PAYLOAD", payload: broken.toString("hex") });
    expect(dead[0]?.detail).toContain("CRC");
  });
});
