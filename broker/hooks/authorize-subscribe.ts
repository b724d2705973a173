import type { Client, Subscription } from "aedes";
import { isFleetNamespace, isOwnDownlinkTopic } from "../../core/topics.ts";
import { getIdentity } from "../identity.ts";

/**
 * Aedes `authorizeSubscribe`: a device may subscribe only to its own errors, events and
 * commands; an integration account to anything under fleet/. A refused subscription gets
 * SUBACK 0x80 (callback with a null subscription); the connection stays open.
 */
export function createAuthorizeSubscribe(allowAnonymous: boolean) {
  function allowed(client: Client, topic: string): boolean {
    const identity = getIdentity(client);
    switch (identity?.kind) {
      case "device":
        return isOwnDownlinkTopic(topic, identity.vehicleId);
      case "integration":
        return topic.startsWith("fleet/");
      case "anonymous":
        // development mode: a plain broker for everything outside the fleet's and broker's own
        // topics; `#` or `+/…` are granted as MQTT 3.1.1 clients expect, and never see a fleet
        // message (authorize-forward.ts)
        return allowAnonymous && !isFleetNamespace(topic) && !topic.startsWith("$");
      default:
        return false;
    }
  }
  return function authorizeSubscribe(
    client: Client,
    sub: Subscription,
    callback: (error: Error | null, subscription?: Subscription | null) => void,
  ): void {
    callback(null, allowed(client, sub.topic) ? sub : null);
  };
}
