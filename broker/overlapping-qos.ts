import type { Client } from "aedes";

/**
 * [MQTT-3.3.5-1] A message matching several of a client's subscriptions must be delivered at
 * the highest QoS among them. Aedes 1.2 registers one delivery function per subscription, with
 * that subscription's QoS, and drops every delivery of a message after the first (its dedupe):
 * whichever subscription the emitter matches first decides, so `a/#` at QoS 0 next to `a/b` at
 * QoS 1 delivers `a/b` at QoS 0 (moscajs/aedes#1074, open). This wraps the client's two delivery
 * functions so that whichever runs first uses the highest QoS the client was granted for the
 * topic, capped by the QoS of the publish. Installed in preConnect, before Aedes captures them
 * for new or restored subscriptions.
 *
 * The copies Aedes would drop are dropped here, before Aedes sees them: for a persistent session
 * (clean session 0) Aedes "clears" each dropped copy from the session's outgoing queue by its
 * message id, which a copy that was never sent does not have yet, so it removed the queue entry
 * of the copy being sent instead: that one's delivery then failed ("no such packet") and the
 * client was disconnected, or an entry stayed queued and came again on the next reconnect.
 *
 * Left as Aedes does it: an exact-topic subscription with a LOWER QoS than an overlapping
 * wildcard one still gets its own QoS (deliverQoS downgrades by the packet's exact topic).
 */
interface Delivery {
  topic: string;
  qos: number;
  brokerId?: string | null;
  brokerCounter?: number;
}
type Deliver = (packet: Delivery, cb: () => void) => void;

interface DeliveringClient {
  deliver0: Deliver;
  deliverQoS: Deliver;
  subscriptions: Record<string, { qos: number } | undefined>;
  /** Aedes' dedupe: the last message counter delivered, per origin broker id */
  duplicates: Record<string, number | undefined>;
}

export function deliverAtHighestQos(client: Client): void {
  const c = client as unknown as DeliveringClient;
  const { deliver0, deliverQoS } = c;
  const granted = (topic: string): number => {
    let max = 0;
    for (const filter in c.subscriptions) {
      const qos = c.subscriptions[filter]?.qos ?? 0;
      if (qos > max && topicMatches(filter, topic)) max = qos;
    }
    return max;
  };
  // Aedes' own test (lib/client.js dedupe), without recording: the copy it would drop
  const delivered = (packet: Delivery): boolean =>
    !!packet.brokerId && (c.duplicates[packet.brokerId] ?? 0) >= (packet.brokerCounter ?? 0);
  c.deliver0 = (packet, cb) => {
    if (delivered(packet)) return void setImmediate(cb);
    const qos = packet.qos > 0 ? Math.min(packet.qos, granted(packet.topic)) : 0;
    if (qos === 0) return deliver0(packet, cb);
    packet.qos = qos; // a Packet of this delivery's own (Aedes copies it per subscription)
    deliverQoS(packet, cb);
  };
  c.deliverQoS = (packet, cb) => {
    if (delivered(packet)) return void setImmediate(cb);
    if (packet.qos > 0) packet.qos = Math.max(1, Math.min(packet.qos, granted(packet.topic)));
    deliverQoS(packet, cb);
  };
}

/** MQTT topic filter matching [MQTT-4.7]; a filter starting with a wildcard never matches a `$` topic [MQTT-4.7.2-1]. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false;
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true; // also the parent level: "a/#" matches "a" [MQTT-4.7.1-2]
    if (i >= t.length || (f[i] !== "+" && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

interface StoredSubscription {
  clientId: string;
  qos: number;
}

interface SubscriptionStore {
  subscriptionsByTopic(topic: string): Promise<StoredSubscription[]>;
}

/**
 * Aedes 1.2 queues a QoS 1/2 message for persistent sessions (clean session 0) once per matching
 * subscription the persistence returns (enqueueOffline), in memory and in Redis alike, yet
 * delivers it once: with overlapping subscriptions, a session got the same message twice after a
 * reconnect, or an extra entry stayed queued. This has the persistence answer one subscription
 * per session, the one with the highest QoS, so that a message is queued once per session.
 * Aedes asks for them nowhere else.
 */
export function queueOncePerSession(persistence: SubscriptionStore): void {
  const byTopic = persistence.subscriptionsByTopic.bind(persistence);
  // Aedes asks on every QoS 1/2 publish: one `then`, not an async function's extra promise
  persistence.subscriptionsByTopic = (topic) => byTopic(topic).then(oncePerSession);
}

function oncePerSession(subs: StoredSubscription[]): StoredSubscription[] {
  if (subs.length < 2) return subs;
  const highest = new Map<string, StoredSubscription>();
  for (const sub of subs) {
    const kept = highest.get(sub.clientId);
    if (!kept || sub.qos > kept.qos) highest.set(sub.clientId, sub);
  }
  return highest.size === subs.length ? subs : [...highest.values()];
}
