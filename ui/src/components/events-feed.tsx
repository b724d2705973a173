import { useEffect, useState } from "react";
import { api, type FleetEvent } from "../api.ts";
import { dateTime } from "../format.ts";

const HISTORY_MS = 24 * 3_600_000;
const MAX_SHOWN = 300;

/**
 * Geofence enter/exit events, newest first: the last day from GET /api/events, then live from
 * the WebSocket as they happen. A retraction (a replay after late fixes proved an event false)
 * removes that event.
 */
export function EventsFeed(props: { live: FleetEvent[]; onSelectVehicle: (id: string) => void }) {
  const [past, setPast] = useState<FleetEvent[]>([]);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    const now = new Date();
    api
      .events(new Date(now.getTime() - HISTORY_MS), now, MAX_SHOWN)
      .then((items) => setPast(items.slice().reverse()))
      .catch((err: unknown) => setError(`Past events unavailable: ${String(err)}`));
  }, []);

  const retracted = new Set(props.live.filter((e) => e.retracted).map((e) => e.id));
  const seen = new Set<number>();
  const events: FleetEvent[] = [];
  for (const e of [...props.live, ...past]) {
    if (retracted.has(e.id) || seen.has(e.id)) continue;
    seen.add(e.id);
    events.push(e);
    if (events.length >= MAX_SHOWN) break;
  }

  return (
    <section className="events">
      {error && <p className="error">{error}</p>}
      {events.length === 0 && <p className="muted">No geofence events in the last 24 hours.</p>}
      <ul className="list" aria-label="events">
        {events.map((e) => (
          <li key={e.id} data-testid="event-row" className="item">
            <span className={`event-kind event-${e.kind}`}>{e.kind}</span>
            <button type="button" className="link" onClick={() => props.onSelectVehicle(e.vehicleId)}>
              {e.vehicleId}
            </button>
            <span className="item-main">{e.geofenceName}</span>
            <span className="muted" title={`confirmed ${dateTime(e.confirmedAt)}`}>
              {dateTime(e.at)}
              {e.late && " (late)"}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
