import type { Client, PublishPacket } from "aedes";
import type { IncomingMessage, IngestOutcome } from "../bridge/bridge.ts";
import type { IngestKind } from "../core/topics.ts";
import type { DeviceIdentity } from "./identity.ts";
import type { Admission } from "./limits/admission.ts";
import type { Acknowledge, PublishCallback } from "./reject-notices.ts";

export interface IngestPublishDeps {
  admit: Admission["admit"];
  /** the bridge's ingest (bridge/bridge.ts): validates and batches, resolves once queued */
  ingest: (msg: IncomingMessage) => Promise<IngestOutcome>;
  acknowledge: Acknowledge;
  nextMessageId: () => string;
}

export type IngestPublish = (
  client: Client,
  device: DeviceIdentity,
  kind: IngestKind,
  packet: PublishPacket,
  payload: Buffer,
  callback: PublishCallback,
) => void;

/**
 * The ingest step of a device's publish on one of its own fix topics, its `kind` already decided
 * by hooks/authorize-publish.ts:
 *   1. admit   → the device's rate limit, then the held ceilings (limits/admission.ts)
 *   2. bridge  → parsed, validated and batched; resolves once durably queued (bridge/bridge.ts)
 *   3. PUBACK  → the callback, after the rejects are noted (reject-notices.ts)
 * The callback stays held throughout: that is the durability guarantee and the backpressure.
 * A failure (hold cap reached, bridge closing) calls back with the error: the connection is
 * closed without PUBACK and the device resends.
 */
export function createIngestPublish(deps: IngestPublishDeps): IngestPublish {
  return function ingestPublish(client, device, kind, packet, payload, callback) {
    const receivedAt = Date.now();
    deps
      .admit(client, device.vehicleId, receivedAt)
      .then((release) =>
        deps
          .ingest({
            vehicleId: device.vehicleId,
            imei: device.imei,
            topic: packet.topic,
            kind,
            payload,
            receivedAt,
            messageId: deps.nextMessageId(),
          })
          .finally(release),
      )
      .then(
        (outcome) => deps.acknowledge(packet, outcome.rejects, callback),
        (err: Error) => callback(err),
      );
  };
}
