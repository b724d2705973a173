import type { AlertMessage } from "./alerts.ts";

/**
 * What the worker publishes on the Redis channel `redisKeys.eventsChannel` (core/redis.ts) after
 * COMMIT, one JSON array per batch (built by worker/event-messages.ts): the broker relays each
 * element to MQTT `fleet/{vehicleId}/events` (QoS 1, broker/relay-events.ts) and the API's /ws
 * forwards the array as an `events` message (api/live-hub.ts). Times are epoch milliseconds, as on
 * the live channel. The database row is the record; this push is at-most-once (a crash between
 * COMMIT and PUBLISH loses the push, not the event). Alert phases (core/alerts.ts, `type: "alert"`)
 * ride in the same arrays, and the broker publishes presence changes (`type: "presence"`) the same
 * way: `EventsChannelMessage` is what an element may be.
 */
export interface EventMessage {
  type: "geofence";
  /** geofence_events.id (for a retraction: the id the deleted row had) */
  id: number;
  vehicleId: string;
  geofenceId: number;
  geofenceName: string;
  kind: "enter" | "exit";
  /** when the vehicle crossed: the first fix on the new side */
  at: number;
  /** the fix that completed the geofence's dwell time */
  confirmedAt: number;
  lat: number;
  lng: number;
  /** derived by a replay after late fixes (possibly long after `at`) */
  late: boolean;
  /** a replay proved this earlier event false; it is deleted */
  retracted: boolean;
}

/**
 * A vehicle went online or offline (presence_events.id): published by the broker node that swept
 * the transition (broker/presence-sweep.ts). `at` is when it happened: the first session's connect,
 * or the end of the last session (the grace that confirmed it is not part of it).
 */
export interface PresenceMessage {
  type: "presence";
  id: number;
  vehicleId: string;
  kind: "online" | "offline";
  at: number;
}

/** An element of an events-channel array: a geofence event, an alert phase or a presence change. */
export type EventsChannelMessage = EventMessage | AlertMessage | PresenceMessage;
