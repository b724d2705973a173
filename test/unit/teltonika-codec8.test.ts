import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  type AvlRecord,
  Codec8Error,
  crc16Ibm,
  decodeAvlPacket,
} from "../../bridge/adapters/teltonika-codec8.ts";
import { topics } from "../../core/topics.ts";
import { pureBridge } from "../support/pure-bridge.ts";
import { type EncodableRecord, encodeAvlPacket } from "../support/teltonika-codec8-encoder.ts";

// The example packets of Teltonika's published protocol document ("Teltonika Data
// Sending Protocols": Codec 8 examples 1-3, Codec 8 Extended example), decoded field by field.
const CODEC8_EXAMPLE_1 =
  "000000000000003608010000016B40D8EA30010000000000000000000000000000000105021503010101425E0F01F10000601A014E0000000000000000010000C7CF";
const CODEC8_EXAMPLE_2 =
  "000000000000002808010000016B40D9AD80010000000000000000000000000000000103021503010101425E100000010000F22A";
const CODEC8_EXAMPLE_3 =
  "000000000000004308020000016B40D57B480100000000000000000000000000000001010101000000000000016B40D5C198010000000000000000000000000000000101010101000000020000252C";
const CODEC8E_EXAMPLE =
  "000000000000004A8E010000016B412CEE000100000000000000000000000000000000010005000100010100010011001D00010010015E2C880002000B000000003544C87A000E000000001DD7E06A00000100002994";

const hex = (s: string) => Buffer.from(s, "hex");
const iso = (r: AvlRecord | undefined) => new Date(r?.timestamp ?? Number.NaN).toISOString();
const noGps = { lng: 0, lat: 0, altitude: 0, angle: 0, satellites: 0, speed: 0 };

describe("Codec 8 / 8E decoder: Teltonika's published examples", () => {
  it("CRC-16/IBM of each example's data field is the CRC it carries", () => {
    for (const [packet, crc] of [
      [CODEC8_EXAMPLE_1, 0xc7cf],
      [CODEC8_EXAMPLE_2, 0xf22a],
      [CODEC8_EXAMPLE_3, 0x252c],
      [CODEC8E_EXAMPLE, 0x2994],
    ] as const) {
      const b = hex(packet);
      expect(crc16Ibm(b.subarray(8, b.length - 4))).toBe(crc);
    }
  });

  it("Codec 8 example 1: one record, IO elements of 1, 2, 4 and 8 bytes", () => {
    const p = decodeAvlPacket(hex(CODEC8_EXAMPLE_1));
    expect(p.codec).toBe(0x08);
    expect(p.crc).toBe(0xc7cf);
    expect(p.records).toHaveLength(1);
    const r = p.records[0];
    expect(iso(r)).toBe("2019-06-10T10:04:46.000Z");
    expect(r).toMatchObject({ priority: 1, ...noGps, eventIo: 1 });
    expect([...(r?.io ?? [])]).toEqual([
      [21, 3],
      [1, 1],
      [66, 0x5e0f],
      [241, 0x601a],
      [78, 0],
    ]);
  });

  it("Codec 8 example 2: one record, no 4- or 8-byte elements", () => {
    const p = decodeAvlPacket(hex(CODEC8_EXAMPLE_2));
    const r = p.records[0];
    expect(p.records).toHaveLength(1);
    expect(iso(r)).toBe("2019-06-10T10:05:36.000Z");
    expect(r).toMatchObject({ priority: 1, ...noGps, eventIo: 1 });
    expect([...(r?.io ?? [])]).toEqual([
      [21, 3],
      [1, 1],
      [66, 0x5e10],
    ]);
  });

  it("Codec 8 example 3: two records", () => {
    const p = decodeAvlPacket(hex(CODEC8_EXAMPLE_3));
    expect(p.records.map(iso)).toEqual(["2019-06-10T10:01:01.000Z", "2019-06-10T10:01:19.000Z"]);
    expect(p.records.map((r) => [r.priority, r.eventIo, [...r.io]])).toEqual([
      [1, 1, [[1, 0]]],
      [1, 1, [[1, 1]]],
    ]);
  });

  it("Codec 8 Extended example: two-byte ids and counts, the (empty) variable-length group", () => {
    const p = decodeAvlPacket(hex(CODEC8E_EXAMPLE));
    expect(p.codec).toBe(0x8e);
    const r = p.records[0];
    expect(p.records).toHaveLength(1);
    expect(iso(r)).toBe("2019-06-10T11:36:32.000Z");
    expect(r).toMatchObject({ priority: 1, ...noGps, eventIo: 1 });
    expect([...(r?.io ?? [])]).toEqual([
      [1, 1],
      [17, 0x1d],
      [16, 0x015e2c88],
      [11, 0x3544c87a],
      [14, 0x1dd7e06a],
    ]);
  });

  it("a changed byte fails the CRC; a short, long or inconsistent packet is malformed", () => {
    const flipped = hex(CODEC8_EXAMPLE_1);
    flipped[20] = (flipped[20] as number) ^ 0x01;
    expect(() => decodeAvlPacket(flipped)).toThrow(expect.objectContaining({ kind: "crc" }));
    const b = hex(CODEC8_EXAMPLE_1);
    expect(() => decodeAvlPacket(b.subarray(0, b.length - 1))).toThrow(Codec8Error);
    expect(() => decodeAvlPacket(Buffer.concat([b, Buffer.from([0])]))).toThrow(Codec8Error);
    // a second record count that differs from the first, with a CRC that matches
    const data = Buffer.from(b.subarray(8, b.length - 4));
    data[data.length - 1] = 2;
    const bad = Buffer.alloc(4);
    bad.writeUInt32BE(crc16Ibm(data));
    expect(() => decodeAvlPacket(Buffer.concat([b.subarray(0, 8), data, bad]))).toThrow(
      /record counts differ/,
    );
    // an unknown codec id
    const c12 = Buffer.from(b.subarray(8, b.length - 4));
    c12[0] = 0x0c;
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc16Ibm(c12));
    expect(() => decodeAvlPacket(Buffer.concat([b.subarray(0, 8), c12, crc]))).toThrow(/codec id 0x0C/);
  });
});

// a valid record: non-zero satellites, coordinates on the 1e7 grid
const ioEntries = (extended: boolean) =>
  fc.uniqueArray(
    fc.record({
      id: fc.integer({ min: 0, max: extended ? 65_535 : 255 }),
      size: extended
        ? fc.constantFrom<1 | 2 | 4 | 8 | "x">(1, 2, 4, 8, "x")
        : fc.constantFrom<1 | 2 | 4 | 8 | "x">(1, 2, 4, 8),
      seed: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    }),
    { selector: (e) => e.id, maxLength: 12 },
  );

const record = (extended: boolean) =>
  fc.record({
    timestamp: fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
    priority: fc.integer({ min: 0, max: 2 }),
    lng: fc.integer({ min: -1_800_000_000, max: 1_800_000_000 }).map((n) => n / 1e7),
    lat: fc.integer({ min: -900_000_000, max: 900_000_000 }).map((n) => n / 1e7),
    altitude: fc.integer({ min: -32_768, max: 32_767 }),
    angle: fc.integer({ min: 0, max: 360 }),
    satellites: fc.integer({ min: 1, max: 255 }),
    speed: fc.integer({ min: 0, max: 400 }),
    eventIo: fc.integer({ min: 0, max: extended ? 65_535 : 255 }),
    io: ioEntries(extended).map((es) =>
      es.map(({ id, size, seed }) => ({
        id,
        size,
        value:
          size === "x"
            ? seed
                .toString(16)
                .padStart(16, "0")
                .slice(0, Number(seed % 9n) * 2)
            : seed % 2n ** BigInt(8 * size),
      })),
    ),
  });

const packets = fc.oneof(
  fc.tuple(fc.constant(0x08 as const), fc.array(record(false), { minLength: 1, maxLength: 5 })),
  fc.tuple(fc.constant(0x8e as const), fc.array(record(true), { minLength: 1, maxLength: 5 })),
);

/** What the decoder should give back for an encoded IO value. */
function expectedIo(e: NonNullable<EncodableRecord["io"]>[number]): number | string {
  if (e.size === "x") return e.value as string;
  const v = BigInt(e.value);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

describe("Codec 8 / 8E round trips (an encoder written in the test)", () => {
  it("decode(encode(records)) gives the records back, every IO element with its value", () => {
    fc.assert(
      fc.property(packets, ([codec, records]) => {
        const p = decodeAvlPacket(encodeAvlPacket(codec, records));
        expect(p.codec).toBe(codec);
        expect(p.records).toHaveLength(records.length);
        p.records.forEach((got, i) => {
          const sent = records[i] as (typeof records)[number];
          const { io, ...fields } = sent;
          expect(got).toMatchObject(fields);
          expect(Object.fromEntries(got.io)).toEqual(
            Object.fromEntries(io.map((e) => [e.id, expectedIo(e)])),
          );
        });
      }),
      { numRuns: 500 },
    );
  });

  it("any byte flipped in an encoded packet is refused (CRC or malformed), never a wrong decode", () => {
    fc.assert(
      fc.property(packets, fc.nat(), fc.integer({ min: 1, max: 255 }), ([codec, records], at, mask) => {
        const b = encodeAvlPacket(codec, records);
        const i = 8 + (at % (b.length - 8));
        b[i] = (b[i] as number) ^ mask;
        expect(() => decodeAvlPacket(b)).toThrow(Codec8Error);
      }),
      { numRuns: 500 },
    );
  });
});

describe("Codec 8 / 8E through the bridge's Teltonika adapter", () => {
  const NOW = Date.parse("2024-06-01T10:00:00Z");
  const IMEI = "356307042441013";
  const { bridge, close } = pureBridge(NOW);
  afterAll(close);
  const decide = (payload: Buffer) =>
    bridge.decide({
      vehicleId: "v1",
      imei: IMEI,
      topic: topics.teltonika(IMEI),
      payload,
      receivedAt: NOW,
      messageId: "m",
    });

  it("the published examples have no satellites: E_NO_FIX, the packet kept as hex in the dead letter", () => {
    const d = decide(hex(CODEC8_EXAMPLE_1));
    expect(d.fixes).toEqual([]);
    expect(d.rejects.map((r) => r.reason)).toEqual(["E_NO_FIX"]);
    expect(d.rejects[0]?.payload).toBe(CODEC8_EXAMPLE_1.toLowerCase());
    const three = decide(hex(CODEC8_EXAMPLE_3));
    expect(three.rejects.map((r) => [r.reason, r.messageId])).toEqual([
      ["E_NO_FIX", "m.0"],
      ["E_NO_FIX", "m.1"],
    ]);
  });

  it("maps IO elements onto fix fields and attributes; a zero-satellite record is refused alone", () => {
    const t = NOW - 60_000;
    const packet = encodeAvlPacket(0x8e, [
      {
        timestamp: t,
        priority: 1,
        lng: 55.2707823,
        lat: 25.2048493,
        altitude: 12,
        angle: 275,
        satellites: 14,
        speed: 54,
        eventIo: 239,
        io: [
          { id: 239, size: 1, value: 1 },
          { id: 240, size: 1, value: 1 },
          { id: 21, size: 1, value: 4 },
          { id: 66, size: 2, value: 12_302 },
          { id: 67, size: 2, value: 4_105 },
          { id: 16, size: 4, value: 1_234_567 },
          { id: 78, size: 8, value: 2n ** 63n },
          { id: 385, size: "x", value: "0a0b0c" },
        ],
      },
      { timestamp: t + 1000, lng: 0, lat: 0, satellites: 0 },
    ]);
    const d = decide(packet);
    expect(d.fixes).toHaveLength(1);
    expect(d.fixes[0]).toMatchObject({
      vehicleId: "v1",
      recordedAt: t,
      lat: 25.2048493,
      lng: 55.2707823,
      altitude: 12,
      heading: 275,
      speed: 54,
      ignition: true,
      odometer: 1234.567,
      messageId: "m.0",
    });
    expect(d.fixes[0]?.attributes).toEqual({
      priority: 1,
      eventIo: 239,
      satellites: 14,
      io239: 1,
      io240: 1,
      io21: 4,
      io66: 12_302,
      io67: 4_105,
      io16: 1_234_567,
      io78: "9223372036854775808",
      io385: "0a0b0c",
      movement: true,
      externalVoltage: 12.302,
      batteryVoltage: 4.105,
      gsmSignal: 4,
    });
    expect(d.rejects.map((r) => [r.reason, r.messageId])).toEqual([["E_NO_FIX", "m.1"]]);
    expect(d.rejects[0]?.detail).toContain("[1]");
  });

  it("a packet whose CRC does not match is E_BAD_PAYLOAD over MQTT (the TCP listener never passes one on)", () => {
    const b = hex(CODEC8_EXAMPLE_1);
    b[b.length - 1] = 0;
    const d = decide(b);
    expect(d.rejects.map((r) => r.reason)).toEqual(["E_BAD_PAYLOAD"]);
    expect(d.rejects[0]?.detail).toContain("CRC");
  });

  it("random valid packets: every record a fix with its coordinates and every IO element in attributes", () => {
    const inWindow = fc.integer({ min: NOW - 30 * 86_400_000, max: NOW });
    fc.assert(
      fc.property(packets, inWindow, ([codec, records], base) => {
        // 0,0 is what a modem without a fix reports: E_NO_FIX, as in Codec JSON
        const sent = records.map((r, i) => ({
          ...r,
          ...(r.lat === 0 && r.lng === 0 ? { lat: 0.0000001 } : {}),
          // the native fix's range (core/fix.ts); the int16 goes lower
          altitude: Math.max(r.altitude, -1000),
          timestamp: base - i * 1000,
          io: r.io.filter((e) => ![239, 16].includes(e.id)),
        }));
        const d = decide(encodeAvlPacket(codec, sent));
        expect(d.rejects).toEqual([]);
        expect(d.fixes.map((f) => [f.recordedAt, f.lat, f.lng, f.speed, f.heading, f.altitude])).toEqual(
          sent.map((r) => [r.timestamp, r.lat, r.lng, r.speed, r.angle, r.altitude]),
        );
        d.fixes.forEach((f, i) => {
          for (const e of (sent[i] as (typeof sent)[number]).io)
            expect(f.attributes?.[`io${e.id}`]).toEqual(expectedIo(e));
        });
      }),
      { numRuns: 300 },
    );
  });
});
