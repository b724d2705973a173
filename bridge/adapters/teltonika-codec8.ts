import { crc16Ibm } from "../../core/crc16-ibm.ts";

// the device side (simulator/teltonika-codec8.ts) computes it too, and cannot import bridge/
export { crc16Ibm };

/**
 * Teltonika Codec 8 (0x08) and Codec 8 Extended (0x8E) AVL data packets, as FMB/FMC/FMM devices
 * send them over TCP and MQTT (Teltonika's published "Teltonika Data Sending Protocols" document):
 *
 *   00 00 00 00 | data length (4) | codec id (1) | records (1) | record… | records again (1) | CRC (4)
 *
 * The data length and the CRC-16/IBM (in the low two bytes of the last four) cover the codec id
 * up to the second record count. A record: timestamp (8, epoch ms), priority (1), GPS element
 * (longitude, latitude: int32 × 1e7 signed; altitude int16 m; angle uint16 °; satellites uint8;
 * speed uint16 km/h), IO element. Codec 8's IO ids and counts are 1 byte, 8E's are 2, and 8E
 * adds a group of variable-length values (2-byte id, 2-byte length, bytes).
 * A pure module: no I/O, no clock.
 */

export const PREAMBLE_BYTES = 4;
/** preamble and data length: what precedes the data field */
export const HEADER_BYTES = 8;
const CRC_BYTES = 4;
export const CODEC_8 = 0x08;
export const CODEC_8E = 0x8e;

/** An IO value: 1/2/4-byte and safe 8-byte values as numbers, larger 8-byte ones as decimal strings, variable-length ones as hex. */
export type IoValue = number | string;

export interface AvlRecord {
  /** epoch ms */
  timestamp: number;
  priority: number;
  lng: number;
  lat: number;
  altitude: number;
  angle: number;
  satellites: number;
  speed: number;
  /** the IO element that triggered the record (0: none, a periodic record) */
  eventIo: number;
  /** every IO element, by id */
  io: Map<number, IoValue>;
}

export interface AvlPacket {
  codec: typeof CODEC_8 | typeof CODEC_8E;
  records: AvlRecord[];
  crc: number;
}

export type Codec8ErrorKind = "crc" | "malformed";

export class Codec8Error extends Error {
  override name = "Codec8Error";
  constructor(
    readonly kind: Codec8ErrorKind,
    detail: string,
  ) {
    super(detail);
  }
}

/** Starts with the four zero bytes of an AVL packet (JSON never starts with a NUL). */
export function hasAvlPreamble(buf: Buffer): boolean {
  return buf.length >= PREAMBLE_BYTES && buf.readUInt32BE(0) === 0;
}

/** The whole packet's length as its header declares it; undefined before the 8 header bytes are in. */
export function declaredPacketLength(buf: Buffer): number | undefined {
  if (buf.length < HEADER_BYTES) return undefined;
  return HEADER_BYTES + buf.readUInt32BE(PREAMBLE_BYTES) + CRC_BYTES;
}

/** Decodes one complete AVL packet; throws Codec8Error. */
export function decodeAvlPacket(buf: Buffer): AvlPacket {
  if (!hasAvlPreamble(buf)) throw new Codec8Error("malformed", "no AVL preamble (4 zero bytes)");
  const total = declaredPacketLength(buf);
  if (total === undefined || buf.length !== total) {
    throw new Codec8Error(
      "malformed",
      `packet is ${buf.length} bytes, its data length declares ${total ?? "(no header)"}`,
    );
  }
  const data = buf.subarray(HEADER_BYTES, total - CRC_BYTES);
  const crc = buf.readUInt32BE(total - CRC_BYTES);
  const computed = crc16Ibm(data);
  if (crc !== computed) {
    throw new Codec8Error("crc", `CRC ${hex(crc)} does not match the data's ${hex(computed)}`);
  }
  const r = new Reader(data);
  const codec = r.u8();
  if (codec !== CODEC_8 && codec !== CODEC_8E) {
    throw new Codec8Error("malformed", `codec id ${hex(codec)}: only 0x08 and 0x8E are AVL data`);
  }
  const count = r.u8();
  const records: AvlRecord[] = [];
  for (let i = 0; i < count; i++) records.push(readRecord(r, codec === CODEC_8E));
  const countAgain = r.u8();
  if (countAgain !== count) {
    throw new Codec8Error(
      "malformed",
      `record counts differ: ${count} before the records, ${countAgain} after`,
    );
  }
  if (r.left() !== 0) throw new Codec8Error("malformed", `${r.left()} bytes after the records`);
  return { codec, records, crc };
}

function readRecord(r: Reader, extended: boolean): AvlRecord {
  const timestamp = r.u64Number("timestamp");
  const priority = r.u8();
  const lng = r.i32() / 1e7;
  const lat = r.i32() / 1e7;
  const altitude = r.i16();
  const angle = r.u16();
  const satellites = r.u8();
  const speed = r.u16();
  const id = extended ? () => r.u16() : () => r.u8();
  const eventIo = id();
  const declared = id();
  const io = new Map<number, IoValue>();
  let read = 0;
  for (const size of [1, 2, 4, 8] as const) {
    const n = id();
    read += n;
    for (let i = 0; i < n; i++) io.set(id(), r.uint(size));
  }
  if (extended) {
    const n = r.u16();
    read += n;
    for (let i = 0; i < n; i++) {
      const ioId = r.u16();
      io.set(ioId, r.bytes(r.u16()).toString("hex"));
    }
  }
  // the total is the sum of the groups; a device that counts otherwise sent a corrupt record
  if (read !== declared) {
    throw new Codec8Error("malformed", `IO element declares ${declared} elements, holds ${read}`);
  }
  return { timestamp, priority, lng, lat, altitude, angle, satellites, speed, eventIo, io };
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  left(): number {
    return this.buf.length - this.at;
  }
  private take(n: number): number {
    if (this.at + n > this.buf.length) {
      throw new Codec8Error("malformed", `record data ends early (needs ${n} bytes at ${this.at})`);
    }
    const at = this.at;
    this.at += n;
    return at;
  }
  u8 = () => this.buf.readUInt8(this.take(1));
  u16 = () => this.buf.readUInt16BE(this.take(2));
  i16 = () => this.buf.readInt16BE(this.take(2));
  i32 = () => this.buf.readInt32BE(this.take(4));
  bytes = (n: number) => this.buf.subarray(this.take(n), this.at);
  /** an unsigned value of 1, 2, 4 or 8 bytes; beyond 2^53 as a decimal string */
  uint(size: 1 | 2 | 4 | 8): IoValue {
    const at = this.take(size);
    if (size === 8) {
      const v = this.buf.readBigUInt64BE(at);
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
    }
    return this.buf.readUIntBE(at, size);
  }
  u64Number(field: string): number {
    const v = this.buf.readBigUInt64BE(this.take(8));
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      throw new Codec8Error("malformed", `${field} ${v} is out of range`);
    return Number(v);
  }
}

const hex = (n: number) => `0x${n.toString(16).toUpperCase().padStart(2, "0")}`;
