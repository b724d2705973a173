import type { EventMessage } from "../core/events.ts";
import type { EventChanges, GeofenceEvent } from "./derive/reconcile-events.ts";

/** The messages of a batch's event changes, in the shape of core/events.ts. */
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
