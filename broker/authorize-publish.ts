import type { Client, PublishPacket } from "aedes";
import type { IncomingMessage, IngestOutcome } from "../bridge/bridge.ts";
import type { Logger } from "../core/logger.ts";
import { parseIngestTopic } from "../core/topics.ts";
import { getIdentity } from "./identity.ts";

export interface AuthorizePublishDeps {
  ingest: (msg: IncomingMessage) => Promise<IngestOutcome>;
  /** payloads that must not be forwarded to subscribers (read by authorizeForward) */
  rejectedPayloads: WeakSet<Buffer>;
  /** tells the device why its message was rejected, on fleet/{id}/errors */
  publishRejects: (outcome: IngestOutcome) => void;
  nextMessageId: () => string;
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
 */
export function createAuthorizePublish(deps: AuthorizePublishDeps) {
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
      const route = parseIngestTopic(topic);
      if (!route || route.vehicleId !== identity.vehicleId) {
        deps.log.warn(
          { vehicleId: identity.vehicleId, topic },
          "publish outside the device's topics refused",
        );
        return callback(new NotAuthorizedError(`publish to ${topic} refused`));
      }
      const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
      deps
        .ingest({
          vehicleId: identity.vehicleId,
          topic,
          payload,
          receivedAt: Date.now(),
          messageId: deps.nextMessageId(),
        })
        .then(
          (outcome) => {
            if (outcome.rejects.length > 0) {
              deps.rejectedPayloads.add(payload);
              deps.publishRejects(outcome);
            }
            callback(null);
          },
          (err: Error) => callback(err),
        );
      return;
    }
    if (identity?.kind === "anonymous" && deps.allowAnonymous && !topic.startsWith("fleet/"))
      return callback(null);
    callback(new NotAuthorizedError(`publish to ${topic} refused`));
  };
}
