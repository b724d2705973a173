import type { AedesPublishPacket, Client, PublishPacket } from "aedes";
import { isFleetNamespace } from "../../core/topics.ts";
import { getIdentity } from "../identity.ts";

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

const FLEET = "fleet/";

/** `fleet/{id}/…` → id; undefined for any other topic. */
function vehicleOf(topic: string): string | undefined {
  if (!topic.startsWith(FLEET)) return undefined;
  const end = topic.indexOf("/", FLEET.length);
  return topic.slice(FLEET.length, end < 0 ? undefined : end);
}

/**
 * Aedes `authorizeForward`, for every message a subscriber is about to get (retained ones and a
 * persistent session's queue too): rejected messages are not delivered; an anonymous client
 * (MQTT_ALLOW_ANONYMOUS, development) subscribed to `#` or `+/…` gets no message of the fleet's;
 * an integration account limited to vehicle groups gets only its vehicles' `fleet/{id}/…`
 * messages (one Set lookup; a subscription to `fleet/#` stays granted, the filter is here).
 */
export function authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
  if ((packet as AedesPublishPacket & WithProperties).properties?.userProperties?.[REJECTED]) return null;
  const identity = getIdentity(client);
  if (identity?.kind === "anonymous" && isFleetNamespace(packet.topic)) return null;
  if (identity?.kind === "integration" && identity.vehicles) {
    const id = vehicleOf(packet.topic);
    if (id === undefined || !identity.vehicles.has(id)) return null;
  }
  return packet;
}
