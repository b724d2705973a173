import { crc16Ibm, HEADER_BYTES } from "../bridge/adapters/teltonika-codec8.ts";

/**
 * Teltonika Codec 12 (Teltonika's published "Codec 12" document): a text command to the device and its
 * text response, framed as an AVL packet is (preamble, data length, CRC-16/IBM):
 *   0x0C | quantity 1 (1) | type (1: 0x05 command, 0x06 response) | size (4) | text | quantity 2 (1)
 * A pure module.
 */
export const CODEC_12 = 0x0c;
export const COMMAND = 0x05;
export const RESPONSE = 0x06;

/** The packet carrying one command (printable ASCII, e.g. `getinfo`, `setdigout 1`). */
export function encodeCodec12(type: typeof COMMAND | typeof RESPONSE, text: string): Buffer {
  const body = Buffer.from(text, "latin1");
  const data = Buffer.alloc(1 + 1 + 1 + 4 + body.length + 1);
  data.writeUInt8(CODEC_12, 0);
  data.writeUInt8(1, 1);
  data.writeUInt8(type, 2);
  data.writeUInt32BE(body.length, 3);
  body.copy(data, 7);
  data.writeUInt8(1, 7 + body.length);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(data.length, 4);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc16Ibm(data));
  return Buffer.concat([header, data, crc]);
}

/** The type and text of a Codec 12 packet whose framing and CRC were checked; undefined if it is not one. */
export function decodeCodec12(packet: Buffer): { type: number; text: string } | undefined {
  const data = packet.subarray(HEADER_BYTES, packet.length - 4);
  if (data.length < 8 || data[0] !== CODEC_12) return undefined;
  const size = data.readUInt32BE(3);
  if (7 + size + 1 !== data.length || data[1] !== data[data.length - 1]) return undefined;
  return { type: data[2] as number, text: data.subarray(7, 7 + size).toString("latin1") };
}

// the rule lives in core: the commands API refuses what this cannot carry (api/routes/commands.ts)
export { codec12Text } from "../core/commands.ts";
