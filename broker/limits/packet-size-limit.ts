import type { Client } from "aedes";

/** The parts of mqtt-packet 9's Parser used here (Aedes 1.2 creates it without options). */
interface ParserInternals {
  packet: { length: number };
  _parseLength(): boolean;
  _emitError(err: Error): void;
}

export class PacketTooLargeError extends Error {
  override name = "PacketTooLargeError";
}

/**
 * Closes a connection whose next packet declares more than `maxBytes`. mqtt-packet buffers a
 * whole packet before parsing it, for any remaining length the header declares (up to 256 MB),
 * and Aedes offers no limit: without this, one client (before it has even authenticated, with a
 * CONNECT) could make the broker buffer 256 MB. The check runs as soon as the remaining length is
 * read, before any of the body is kept. Relies on mqtt-packet's parser state machine
 * (`_parseLength`); test/security/raw-packets.test.ts fails if an upgrade changes it.
 */
export function limitPacketSize(client: Client, maxBytes: number): Client {
  const parser = (client as unknown as { _parser?: ParserInternals })._parser;
  if (!parser || typeof parser._parseLength !== "function") return client;
  const parseLength = parser._parseLength;
  parser._parseLength = function parseLengthWithinLimit(this: ParserInternals): boolean {
    const done = parseLength.call(this);
    if (done && this.packet.length > maxBytes) {
      this._emitError(
        new PacketTooLargeError(`packet of ${this.packet.length} bytes > MQTT_MAX_PACKET_BYTES ${maxBytes}`),
      );
      return false;
    }
    return done;
  };
  return client;
}
