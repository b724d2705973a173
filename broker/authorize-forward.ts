import type { AedesPublishPacket, Client } from "aedes";

/**
 * Aedes `authorizeForward`: a message the bridge rejected (acknowledged, so the device does not
 * resend it forever) is not passed on to subscribers. Aedes wraps the packet but keeps the
 * payload Buffer, so the mark set in authorizePublish is found here.
 */
export function createAuthorizeForward(rejectedPayloads: WeakSet<Buffer>) {
  return function authorizeForward(_client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const payload = packet.payload;
    if (typeof payload !== "string" && rejectedPayloads.has(payload)) return null;
    return packet;
  };
}
