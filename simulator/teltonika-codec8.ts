import { crc16Ibm } from "../core/crc16-ibm.ts";

/**
 * A Codec 8 / 8E encoder, the device side of Teltonika's protocol, for the simulator's Teltonika
 * trucks and for the tests. Written from the protocol document and not from the decoder
 * (bridge/adapters/teltonika-codec8.ts): round trips through both check one against the other.
 */
export interface EncodableRecord {
  timestamp: number;
  priority?: number;
  /** degrees; encoded × 1e7 as int32 */
  lng: number;
  lat: number;
  altitude?: number;
  angle?: number;
  satellites: number;
  speed?: number;
  eventIo?: number;
  /** IO elements by id; `size` 1, 2, 4 or 8 bytes, or "x" (8E only: variable length, a hex string) */
  io?: { id: number; size: 1 | 2 | 4 | 8 | "x"; value: number | bigint | string }[];
}

export function encodeAvlPacket(codec: 0x08 | 0x8e, records: EncodableRecord[]): Buffer {
  const extended = codec === 0x8e;
  const parts: Buffer[] = [u(1, codec), u(1, records.length)];
  for (const r of records) {
    parts.push(u(8, BigInt(r.timestamp)), u(1, r.priority ?? 0));
    parts.push(i32(Math.round(r.lng * 1e7)), i32(Math.round(r.lat * 1e7)));
    const alt = Buffer.alloc(2);
    alt.writeInt16BE(r.altitude ?? 0);
    parts.push(alt, u(2, r.angle ?? 0), u(1, r.satellites), u(2, r.speed ?? 0));
    const idSize = extended ? 2 : 1;
    const io = r.io ?? [];
    parts.push(u(idSize, r.eventIo ?? 0), u(idSize, io.length));
    for (const size of [1, 2, 4, 8] as const) {
      const group = io.filter((e) => e.size === size);
      parts.push(u(idSize, group.length));
      for (const e of group) parts.push(u(idSize, e.id), u(size, e.value as number | bigint));
    }
    if (extended) {
      const group = io.filter((e) => e.size === "x");
      parts.push(u(2, group.length));
      for (const e of group) {
        const bytes = Buffer.from(e.value as string, "hex");
        parts.push(u(2, e.id), u(2, bytes.length), bytes);
      }
    }
  }
  parts.push(u(1, records.length));
  const data = Buffer.concat(parts);
  return Buffer.concat([u(4, 0), u(4, data.length), data, u(4, crc16Ibm(data))]);
}

/** The IMEI handshake a device opens its TCP connection with. */
export function imeiHandshake(imei: string): Buffer {
  return Buffer.concat([u(2, imei.length), Buffer.from(imei, "ascii")]);
}

function u(size: number, v: number | bigint): Buffer {
  const b = Buffer.alloc(size);
  if (size === 8) b.writeBigUInt64BE(BigInt(v));
  else b.writeUIntBE(Number(v), 0, size);
  return b;
}

function i32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
}
