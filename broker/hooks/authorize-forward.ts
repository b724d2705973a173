import type { AedesPublishPacket, Client, PublishPacket } from "aedes";

/**
 * A message the bridge rejected is acknowledged (a modem would resend it forever) but never passed
 * on to subscribers. The mark travels in the packet itself, as an MQTT 5 user property: Aedes keeps
 * a packet's `properties` when it wraps it, and mqemitter-redis serialises them, so the mark also
 * reaches the other nodes of a clustered broker (a mark kept beside the payload Buffer did not:
 * across Redis every delivery is a new Buffer). MQTT 3.1.1 clients never see properties.
 */
const REJECTED = "x-logitrack-rejected";

type WithProperties = { properties?: { userProperties?: Record<string, string | string[]> } };

/** Called before the PUBACK of a message that carries any reject (reject-notices.ts). */
export function markRejected(packet: PublishPacket): void {
  const p = packet as PublishPacket & WithProperties;
  p.properties = { ...p.properties, userProperties: { ...p.properties?.userProperties, [REJECTED]: "1" } };
}

/** Aedes `authorizeForward`: rejected messages are not delivered. */
export function authorizeForward(_client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
  return (packet as AedesPublishPacket & WithProperties).properties?.userProperties?.[REJECTED]
    ? null
    : packet;
}
