import type { Aedes } from "aedes";
import type { createCommandDownlink } from "../command-downlink.ts";

type Downlink = Pick<ReturnType<typeof createCommandDownlink>, "onAck" | "onConnackSent" | "onSubscribe">;

/**
 * Aedes "ack", "connackSent" and "subscribe": a device's PUBACK marks its command delivered, and
 * a device subscribing to its commands afresh is sent those still pending (command-downlink.ts).
 */
export function wireDownlinkEvents(aedes: Aedes, downlink: Downlink): void {
  aedes.on("ack", downlink.onAck);
  aedes.on("connackSent", downlink.onConnackSent);
  aedes.on("subscribe", downlink.onSubscribe);
}
