import { useEffect, useState } from "react";
import { api, type FleetEvent, type GeofenceFeature } from "../api.ts";
import { dateTime } from "../format.ts";

const HISTORY_MS = 24 * 3_600_000;

/** Geofence enter/exit and other events: the last day from the API, then live from the WebSocket. */
export function EventsFeed(props: {
  live: FleetEvent[];
  geofences: GeofenceFeature[];
  onSelectVehicle: (id: string) => void;
}) {
  const [past, setPast] = useState<FleetEvent[]>([]);
  const [note, setNote] = useState<string | undefined>();
  useEffect(() => {
    const now = new Date();
    api
      .events(new Date(now.getTime() - HISTORY_MS), now)
      .then((items) => setPast(items.slice().reverse()))
      .catch((err: unknown) =>
        setNote(`Past events unavailable (${String(err)}); showing live events only.`),
      );
  }, []);

  const names = new Map(props.geofences.map((g) => [g.id, g.properties.name]));
  const events = [...props.live, ...past].slice(0, 300);
  return (
    <section className="events">
      {note && <p className="muted">{note}</p>}
      {events.length === 0 && <p className="muted">No events yet.</p>}
      <ul className="list" aria-label="events">
        {events.map((e, i) => {
          const kind = e.kind ?? e.type ?? "event";
          const where = e.geofenceName ?? (e.geofenceId !== undefined ? names.get(e.geofenceId) : undefined);
          return (
            <li
              key={e.id ?? `${i}-${e.vehicleId}-${kind}-${e.at ?? e.recordedAt}`}
              data-testid="event-row"
              className="item"
            >
              <span className={`event-kind event-${kind}`}>{kind}</span>
              <button type="button" className="link" onClick={() => props.onSelectVehicle(e.vehicleId)}>
                {e.vehicleId}
              </button>
              {where && <span> {where}</span>}
              <span className="muted"> {dateTime(e.at ?? e.recordedAt)}</span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
