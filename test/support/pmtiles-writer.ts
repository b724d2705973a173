import { crc32, deflateSync } from "node:zlib";

/**
 * A minimal PMTiles v3 writer for tests (the spec: node_modules/pmtiles/README.md and its
 * src/index.ts reader): a 127-byte header, one root directory of varint-encoded entries, no
 * metadata, no leaf directories, nothing compressed internally. Each entry may cover a run of
 * consecutive tile ids holding the same bytes.
 */
export interface PmtilesEntry {
  /** the Hilbert tile id (pmtiles' zxyToTileId) of the first tile of the run */
  tileId: number;
  runLength: number;
  data: Buffer;
}

const HEADER_BYTES = 127;
const COMPRESSION_NONE = 1;
const TILE_TYPE_PNG = 2;

function varint(n: number, out: number[]): void {
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** The directory: count, tile id deltas, run lengths, lengths, offsets (+1; 0 = right after the previous). */
function directory(entries: { tileId: number; runLength: number; offset: number; length: number }[]): Buffer {
  const out: number[] = [];
  varint(entries.length, out);
  let last = 0;
  for (const e of entries) {
    varint(e.tileId - last, out);
    last = e.tileId;
  }
  for (const e of entries) varint(e.runLength, out);
  for (const e of entries) varint(e.length, out);
  entries.forEach((e, i) => {
    const prev = entries[i - 1];
    varint(prev && e.offset === prev.offset + prev.length ? 0 : e.offset + 1, out);
  });
  return Buffer.from(out);
}

/** A raster (PNG) archive holding `entries`, zooms minZoom..maxZoom, the whole world as bounds. */
export function writePmtiles(entries: PmtilesEntry[], zooms: { minZoom: number; maxZoom: number }): Buffer {
  const sorted = [...entries].sort((a, b) => a.tileId - b.tileId);
  let offset = 0;
  const placed = sorted.map((e) => {
    const p = { tileId: e.tileId, runLength: e.runLength, offset, length: e.data.length };
    offset += e.data.length;
    return p;
  });
  const root = directory(placed);
  const tiles = Buffer.concat(sorted.map((e) => e.data));
  const h = Buffer.alloc(HEADER_BYTES);
  h.write("PMTiles", 0, "ascii");
  h.writeUInt8(3, 7);
  const u64 = (at: number, v: number) => h.writeBigUInt64LE(BigInt(v), at);
  u64(8, HEADER_BYTES); // root directory offset
  u64(16, root.length);
  u64(24, HEADER_BYTES + root.length); // metadata: none
  u64(32, 0);
  u64(40, HEADER_BYTES + root.length); // leaf directories: none
  u64(48, 0);
  u64(56, HEADER_BYTES + root.length); // tile data
  u64(64, tiles.length);
  u64(
    72,
    sorted.reduce((a, e) => a + e.runLength, 0),
  ); // addressed tiles
  u64(80, sorted.length); // tile entries
  u64(88, sorted.length); // distinct contents
  h.writeUInt8(1, 96); // clustered: tile data in tile id order
  h.writeUInt8(COMPRESSION_NONE, 97);
  h.writeUInt8(COMPRESSION_NONE, 98);
  h.writeUInt8(TILE_TYPE_PNG, 99);
  h.writeUInt8(zooms.minZoom, 100);
  h.writeUInt8(zooms.maxZoom, 101);
  const e7 = (at: number, deg: number) => h.writeInt32LE(Math.round(deg * 1e7), at);
  e7(102, -180);
  e7(106, -85);
  e7(110, 180);
  e7(114, 85);
  h.writeUInt8(zooms.minZoom, 118);
  e7(119, 0);
  e7(123, 0);
  return Buffer.concat([h, root, tiles]);
}

/** A 256×256 PNG of one opaque colour (8-bit RGB, no filtering). */
export function solidPng(rgb: [number, number, number], size = 256): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // colour type: RGB
  const row = Buffer.alloc(1 + size * 3);
  for (let x = 0; x < size; x++) row.set(rgb, 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: size }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
