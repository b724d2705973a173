/** CRC-16/IBM (ARC): polynomial 0xA001 reflected, initial 0. */
export function crc16Ibm(buf: Uint8Array): number {
  let crc = 0;
  for (const byte of buf) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}
