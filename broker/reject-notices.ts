import type { PublishPacket } from "aedes";
import type { Reject } from "../core/reject-reasons.ts";
import { topics } from "../core/topics.ts";
import { markRejected } from "./hooks/authorize-forward.ts";

/** The authorizePublish callback: Aedes writes the PUBACK once it is called without an error. */
export type PublishCallback = (error?: Error | null) => void;

export type Acknowledge = (packet: PublishPacket, rejects: Reject[], callback: PublishCallback) => void;

/**
 * Acknowledges a device's publish once it has been handled. A message carrying rejects is
 * acknowledged too (a modem would resend it forever), but it is marked so that it is not passed
 * on to subscribers (hooks/authorize-forward.ts), and the device is told why on
 * fleet/{id}/errors, QoS 1, one notice per reject.
 */
export function createAcknowledge(publish: (packet: PublishPacket) => void): Acknowledge {
  return function acknowledge(packet, rejects, callback) {
    if (rejects.length > 0) {
      markRejected(packet);
      for (const r of rejects) {
        const payload = JSON.stringify({
          reason: r.reason,
          detail: r.detail,
          messageId: r.messageId,
          topic: r.topic,
        });
        publish({
          cmd: "publish",
          topic: topics.errors(r.vehicleId),
          payload,
          qos: 1,
          retain: false,
          dup: false,
        });
      }
    }
    callback(null);
  };
}
