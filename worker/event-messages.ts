import type { EventChanges, GeofenceEvent } from "./derive/reconcile-events.ts";

/**
 * What the worker publishes on the Redis channel `redisKeys.eventsChannel` after COMMIT, one JSON
 * array per batch: the broker relays each element to MQTT `fleet/{vehicleId}/events` (QoS 1,
 * broker/relay-events.ts) and the API's /ws forwards the array as an `events` message. Times are
 * epoch milliseconds, as on the live channel. The database row is the record; this push is
 * at-most-once (a crash between COMMIT and PUBLISH loses the push, not the event).
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

export function eventMessages(changes: EventChanges, replayed: ReadonlySet<string>): EventMessage[] {
  const message = (e: GeofenceEvent, retracted: boolean): EventMessage => ({
    type: "geofence",
    id: e.id,
    vehicleId: e.vehicleId,
    geofenceId: e.geofenceId,
    geofenceName: e.geofenceName,
    kind: e.kind,
    at: e.at,
    confirmedAt: e.confirmedAt,
    lat: e.lat,
    lng: e.lng,
    late: replayed.has(e.vehicleId),
    retracted,
  });
  const out = [
    ...changes.retracted.map((e) => message(e, true)),
    ...changes.inserted.map((e) => message(e, false)),
  ];
  // per vehicle in event time, retractions of a time before its new events
  return out.sort((a, b) =>
    a.vehicleId === b.vehicleId
      ? a.at - b.at || Number(b.retracted) - Number(a.retracted)
      : a.vehicleId < b.vehicleId
        ? -1
        : 1,
  );
}
