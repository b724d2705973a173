import type { Client, PublishPacket } from "aedes";
import type { IncomingMessage, IngestOutcome } from "../../bridge/bridge.ts";
import type { Logger } from "../../core/logger.ts";
import type { Reject } from "../../core/reject-reasons.ts";
import { isFleetNamespace, ownIngestKind, topics } from "../../core/topics.ts";
import { getIdentity } from "../identity.ts";
import { markRejected } from "./authorize-forward.ts";

export interface AuthorizePublishDeps {
  ingest: (msg: IncomingMessage) => Promise<IngestOutcome>;
  /** records a device's answer on fleet/{id}/commands/ack; resolves with a reject if unusable */
  commandAck: (vehicleId: string, payload: Buffer, messageId: string) => Promise<Reject | undefined>;
  /** tells the device why its message was rejected, on fleet/{id}/errors */
  publishRejects: (rejects: Reject[]) => void;
  nextMessageId: () => string;
  /**
   * Waits until an ingest message may enter the bridge (rate limit, held ceilings:
   * ingest-admission.ts) and resolves with the release to call once it has settled.
   */
  admit?: (client: Client, vehicleId: string, receivedAt: number) => Promise<() => void>;
  allowAnonymous: boolean;
  log: Logger;
}

export class NotAuthorizedError extends Error {
  override name = "NotAuthorizedError";
}

/**
 * Aedes `authorizePublish`. Aedes writes the QoS 1 PUBACK (QoS 2 PUBREC) only after this calls
 * back, and reads the socket's next chunk only after the current one has called back: holding
 * the callback until the bridge has queued the fix is both the durability guarantee and the
 * backpressure. Calling back with an error closes the connection (no PUBACK: the device resends).
 *
 * A device may publish exactly its own device → platform topics: `fleet/{id}/location(s)`,
 * `owntracks/{id}/{device}[/…]`, `{imei}/data` for the IMEI registered on it (fixes, to the
 * bridge) and `fleet/{id}/commands/ack` (its answers to commands, recorded before the PUBACK).
 */
export function createAuthorizePublish(deps: AuthorizePublishDeps) {
  function settle(packet: PublishPacket, rejects: Reject[], callback: (error?: Error | null) => void): void {
    if (rejects.length > 0) {
      markRejected(packet);
      deps.publishRejects(rejects);
    }
    callback(null);
  }

  return function authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    callback: (error?: Error | null) => void,
  ) {
    if (client === null) return callback(null); // the broker's own publishes (errors, events, commands)
    const identity = getIdentity(client);
    const topic = packet.topic;
    if (topic.startsWith("$SYS/")) return callback(new NotAuthorizedError(`publish to ${topic} refused`));

    if (identity?.kind === "device") {
      const { vehicleId } = identity;
      const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
      if (topic === topics.commandAck(vehicleId)) {
        deps.commandAck(vehicleId, payload, deps.nextMessageId()).then(
          (reject) => settle(packet, reject ? [reject] : [], callback),
          (err: Error) => {
            // not recorded (database unreachable): no PUBACK, the device sends its answer again
            deps.log.error({ err, vehicleId }, "command answer not recorded");
            callback(err);
          },
        );
        return;
      }
      const kind = ownIngestKind(topic, identity);
      if (!kind) {
        deps.log.warn({ vehicleId, topic }, "publish outside the device's topics refused");
        return callback(new NotAuthorizedError(`publish to ${topic} refused`));
      }
      const receivedAt = Date.now();
      const admitted = deps.admit ? deps.admit(client, vehicleId, receivedAt) : Promise.resolve(noop);
      admitted
        .then((release) =>
          deps
            .ingest({
              vehicleId,
              imei: identity.imei,
              topic,
              kind,
              payload,
              receivedAt,
              messageId: deps.nextMessageId(),
            })
            .finally(release),
        )
        .then(
          (outcome) => settle(packet, outcome.rejects, callback),
          (err: Error) => callback(err),
        );
      return;
    }
    if (identity?.kind === "anonymous" && deps.allowAnonymous && !isFleetNamespace(topic))
      return callback(null);
    callback(new NotAuthorizedError(`publish to ${topic} refused`));
  };
}

function noop(): void {}
