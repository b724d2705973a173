import type { Client, PublishPacket } from "aedes";
import type { Decision, IncomingMessage, IngestOutcome } from "../bridge/bridge.ts";
import type { IngestKind } from "../core/topics.ts";
import type { DeviceIdentity } from "./identity.ts";
import type { Admission } from "./limits/admission.ts";
import type { Acknowledge, PublishCallback } from "./reject-notices.ts";

export interface IngestPublishDeps {
  admit: Admission["admit"];
  /** the bridge's steps 1-5 (bridge/bridge.ts): parse, adapt, validate; pure and synchronous */
  decide: (msg: IncomingMessage) => Decision;
  /** the bridge's step 6: batches, resolves once durably queued */
  queue: (decision: Decision) => Promise<IngestOutcome>;
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
 *   1. decide  → parsed and validated into fixes and rejects (bridge/bridge.ts steps 1-5)
 *   2. admit   → the device's rate limit, charged the message's fixes and rejects (an array of
 *                N costs N), then the held ceilings (limits/admission.ts)
 *   3. queue   → batched; resolves once durably queued (bridge/bridge.ts step 6)
 *   4. PUBACK  → the callback, after the rejects are noted (reject-notices.ts)
 * The callback stays held throughout: that is the durability guarantee and the backpressure.
 * A failure (rate limit refused, hold cap reached, bridge closing) calls back with the error: the
 * connection is closed without PUBACK and the device resends.
 */
export function createIngestPublish(deps: IngestPublishDeps): IngestPublish {
  return function ingestPublish(client, device, kind, packet, payload, callback) {
    const receivedAt = Date.now();
    let decision: Decision;
    try {
      decision = deps.decide({
        vehicleId: device.vehicleId,
        imei: device.imei,
        topic: packet.topic,
        kind,
        payload,
        receivedAt,
        messageId: deps.nextMessageId(),
      });
    } catch (err) {
      callback(err as Error);
      return;
    }
    const cost = Math.max(1, decision.fixes.length + decision.rejects.length);
    // released on either outcome with `then`: a `finally` costs three promises per message
    deps
      .admit(client, device.vehicleId, receivedAt, cost)
      .then((release) =>
        deps.queue(decision).then(
          (outcome) => {
            release();
            return outcome;
          },
          (err: unknown) => {
            release();
            throw err;
          },
        ),
      )
      .then(
        (outcome) => deps.acknowledge(packet, outcome.rejects, callback),
        (err: Error) => callback(err),
      );
  };
}
