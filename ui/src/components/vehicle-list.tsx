import L from "leaflet";
import { useDeferredValue, useMemo, useState } from "react";
import { timeAgo } from "../format.ts";
import { useNow } from "../use-store-version.ts";
import type { VehicleView } from "../use-vehicles.ts";

// a list longer than this asks for a search instead of rendering thousands of rows
const MAX_ROWS = 300;

export function VehicleList(props: {
  vehicles: VehicleView[];
  error: string | undefined;
  selectedId: string | undefined;
  staleMs: number;
  onSelect: (id: string) => void;
  map: L.Map | null;
}) {
  const [query, setQuery] = useState("");
  const [presence, setPresence] = useState<"all" | "online" | "offline">("all");
  const deferred = useDeferredValue(query.trim().toLowerCase());
  const now = useNow(5000);
  const matches = useMemo(
    () =>
      props.vehicles.filter(
        (v) =>
          (presence === "all" || (presence === "online") === (v.online === true)) &&
          (!deferred ||
            v.id.toLowerCase().includes(deferred) ||
            v.name?.toLowerCase().includes(deferred) ||
            v.plate?.toLowerCase().includes(deferred)),
      ),
    [props.vehicles, deferred, presence],
  );

  const fitFleet = () => {
    const pts = props.vehicles.flatMap((v) =>
      v.position ? [[v.position.lat, v.position.lng] as [number, number]] : [],
    );
    if (props.map && pts.length > 0)
      props.map.fitBounds(L.latLngBounds(pts), { padding: [40, 40], maxZoom: 15 });
  };

  return (
    <section className="vehicle-list">
      <div className="row">
        <input
          type="search"
          placeholder="Search id, name, plate"
          aria-label="search vehicles"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <select
          aria-label="filter by presence"
          value={presence}
          onChange={(e) => setPresence(e.target.value as typeof presence)}
        >
          <option value="all">All</option>
          <option value="online">Online</option>
          <option value="offline">Offline</option>
        </select>
        <button type="button" onClick={fitFleet} title="zoom to every vehicle with a position">
          Fit fleet
        </button>
      </div>
      {props.error && <p className="error">{props.error}</p>}
      <p className="muted" data-testid="vehicle-count">
        {matches.length} of {props.vehicles.length} vehicles
      </p>
      <ul className="list">
        {matches.slice(0, MAX_ROWS).map((v) => {
          const seen = v.position?.recordedAt;
          const stale = seen === undefined || now - seen > props.staleMs;
          return (
            <li key={v.id} data-testid="vehicle-row" data-vehicle-id={v.id}>
              <button
                type="button"
                className={v.id === props.selectedId ? "item selected" : "item"}
                onClick={() => props.onSelect(v.id)}
              >
                <span className={`dot ${stale ? "dot-stale" : "dot-live"}`} aria-hidden />
                <span className="item-main">
                  <strong>{v.name ?? v.id}</strong>
                  {v.name && <span className="muted"> {v.id}</span>}
                  {v.plate && <span className="plate">{v.plate}</span>}
                </span>
                <span className="item-side">
                  {v.online !== null && (
                    <span
                      className={`presence ${v.online ? "presence-online" : "presence-offline"}`}
                      data-testid="presence-badge"
                      title={
                        v.lastSeenAt ? `last seen ${new Date(v.lastSeenAt).toLocaleString()}` : undefined
                      }
                    >
                      {v.online ? "online" : "offline"}
                    </span>
                  )}
                  <span className={`status status-${v.status}`}>{v.status}</span>
                  <span className="muted" title={seen ? new Date(seen).toLocaleString() : "no fix yet"}>
                    {timeAgo(seen, now)}
                  </span>
                </span>
              </button>
            </li>
          );
        })}
      </ul>
      {matches.length > MAX_ROWS && (
        <p className="muted">{matches.length - MAX_ROWS} more: refine the search</p>
      )}
    </section>
  );
}
