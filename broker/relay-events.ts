import { createHash } from "node:crypto";
import type { Aedes } from "aedes";
import type { Logger } from "../core/logger.ts";
import { channelOf, type Redis, redisKeys } from "../core/redis.ts";
import { isVehicleId, topics } from "../core/topics.ts";

/**
 * The worker has no MQTT broker: it publishes each batch's geofence events as one JSON array on
 * the Redis channel `redisKeys.eventsChannel` (core/events.ts). This relays every event
 * of such an array to MQTT `fleet/{vehicleId}/events`, QoS 1, where the vehicle itself and
 * integration accounts may subscribe.
 *
 * Several broker nodes sharing one MQTT emitter (mqemitter-redis) all hear the channel, and one
 * aedes.publish reaches the subscribers of every node: the first node to claim a message (SET NX
 * on its hash, kept a minute) relays it, so each event goes out once per cluster, not once per node.
 */
export async function relayEvents(deps: {
  aedes: Aedes;
  /** the broker's subscriber connection (shared with the control channel) */
  subscriber: Redis;
  /** a command connection, for the claim */
  redis: Redis;
  log: Logger;
}): Promise<() => Promise<void>> {
  const { aedes, log } = deps;

  async function relay(raw: string): Promise<void> {
    const claim = `${redisKeys.eventsRelayed}${createHash("sha1").update(raw).digest("base64url")}`;
    if ((await deps.redis.set(claim, "1", "PX", 60_000, "NX")) !== "OK") return;
    let events: unknown;
    try {
      events = JSON.parse(raw);
    } catch {
      log.warn({ raw: raw.slice(0, 200) }, "ignored malformed events message");
      return;
    }
    for (const event of Array.isArray(events) ? events : [events]) {
      const vehicleId = (event as { vehicleId?: unknown } | null)?.vehicleId;
      if (typeof vehicleId !== "string" || !isVehicleId(vehicleId)) continue;
      aedes.publish(
        {
          cmd: "publish",
          topic: topics.events(vehicleId),
          payload: JSON.stringify(event),
          qos: 1,
          retain: false,
          dup: false,
        },
        (err) => {
          if (err) log.warn({ err, vehicleId }, "event relay to MQTT failed");
        },
      );
    }
  }

  const events = channelOf(deps.subscriber, redisKeys.eventsChannel);
  const onMessage = (channel: string, raw: string) => {
    if (channel !== events) return;
    relay(raw).catch((err: unknown) => log.warn({ err }, "event relay failed"));
  };
  deps.subscriber.on("message", onMessage);
  await deps.subscriber.subscribe(events);
  return async () => {
    deps.subscriber.off("message", onMessage);
    await deps.subscriber.unsubscribe(events).catch(() => {});
  };
}
