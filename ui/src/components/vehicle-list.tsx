import L from "leaflet";
import {
  type KeyboardEvent,
  type ReactNode,
  useDeferredValue,
  useEffect,
  useMemo,
  useRef,
  useState,
} from "react";
import { dateTime, speed, timeAgo } from "../format.ts";
import { useNow } from "../use-store-version.ts";
import type { VehicleView } from "../use-vehicles.ts";
import { isLastKnown, STATE_COLORS, type StateRule, stateOf } from "../vehicle-state.ts";

// every row the same height: the list renders the rows in view (and a few around), so a fleet
// of 20,000 costs what a screenful does, and every vehicle stays reachable by scrolling
const ROW_PX = 48;
const OVERSCAN = 10;

/** Name first; the id beside it only when the name is something else. */
export function titleOf(v: { id: string; name: string | null }): { title: string; sub: string | undefined } {
  return v.name && v.name !== v.id ? { title: v.name, sub: v.id } : { title: v.id, sub: undefined };
}

export function VehicleList(props: {
  /** in natural id order */
  vehicles: VehicleView[];
  error: string | undefined;
  selectedId: string | undefined;
  rule: StateRule;
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

  // Enter opens the match: the exact id if there is one, else the first in the list
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key !== "Enter") return;
    const q = query.trim().toLowerCase();
    const list = q === deferred ? matches : props.vehicles.filter((v) => v.id.toLowerCase().includes(q));
    const hit = list.find((v) => v.id.toLowerCase() === q) ?? list[0];
    if (hit) props.onSelect(hit.id);
  };

  return (
    <section className="vehicle-list" aria-label="vehicles">
      <div className="row">
        <input
          type="search"
          placeholder="Search id, name, plate (Enter opens)"
          aria-label="search vehicles"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <label className="inline">
          Connection
          <select value={presence} onChange={(e) => setPresence(e.target.value as typeof presence)}>
            <option value="all">All</option>
            <option value="online">Online</option>
            <option value="offline">Offline</option>
          </select>
        </label>
        <button type="button" onClick={fitFleet} title="zoom to every vehicle with a position">
          Fit fleet
        </button>
      </div>
      {props.error && <p className="error">{props.error}</p>}
      <p className="muted" data-testid="vehicle-count">
        {matches.length} of {props.vehicles.length} vehicles
      </p>
      <VirtualRows
        items={matches}
        selectedId={props.selectedId}
        render={(v) => <Row v={v} now={now} rule={props.rule} onSelect={props.onSelect} />}
      />
    </section>
  );
}

function VirtualRows(props: {
  items: VehicleView[];
  selectedId: string | undefined;
  render: (v: VehicleView) => ReactNode;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  // a vehicle picked on the map scrolls into the list
  const index = props.items.findIndex((v) => v.id === props.selectedId);
  // biome-ignore lint/correctness/useExhaustiveDependencies: on a new selection only, not as the list refreshes
  useEffect(() => {
    const el = ref.current;
    if (!el || index < 0) return;
    const top = index * ROW_PX;
    if (top < el.scrollTop || top + ROW_PX > el.scrollTop + el.clientHeight)
      el.scrollTop = top - el.clientHeight / 2;
  }, [props.selectedId]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_PX) - OVERSCAN);
  const last = Math.min(props.items.length, Math.ceil((scrollTop + height) / ROW_PX) + OVERSCAN);
  return (
    <div className="vlist" ref={ref} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
      <ul className="list" style={{ height: props.items.length * ROW_PX }}>
        {props.items.slice(first, last).map((v, k) => (
          <li
            key={v.id}
            data-testid="vehicle-row"
            data-vehicle-id={v.id}
            aria-setsize={props.items.length}
            aria-posinset={first + k + 1}
            style={{ top: (first + k) * ROW_PX, height: ROW_PX }}
            className={v.id === props.selectedId ? "selected" : undefined}
          >
            {props.render(v)}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Row(props: { v: VehicleView; now: number; rule: StateRule; onSelect: (id: string) => void }) {
  const { v, now } = props;
  const p = v.position;
  const state = stateOf(p, now, props.rule, v.online);
  const { title, sub } = titleOf(v);
  const color = STATE_COLORS[state];
  return (
    <button type="button" className="item" onClick={() => props.onSelect(v.id)} data-state={state}>
      <span
        className="dot"
        aria-hidden
        style={isLastKnown(state) ? { border: `2px solid ${color}` } : { background: color }}
      />
      <span className="item-main">
        <strong>{title}</strong>
        {sub && <span className="muted"> {sub}</span>}
        {v.plate && <span className="plate">{v.plate}</span>}
        {v.status !== "active" && <span className={`status status-${v.status}`}>{v.status}</span>}
      </span>
      <span className="item-side" title={p ? `last fix ${dateTime(p.recordedAt)}` : "no fix yet"}>
        {/* one line: the badge and the state (three lines ran over the row's divider) */}
        <span className="side-line">
          {v.online !== null && (
            <span
              className={`presence ${v.online ? "presence-online" : "presence-offline"}`}
              data-testid="presence-badge"
              title={v.lastSeenAt ? `last seen ${dateTime(Date.parse(v.lastSeenAt))}` : undefined}
            >
              {v.online ? "online" : "offline"}
            </span>
          )}
          <span className={`state state-${state}`}>{state === "stale" ? "no recent fix" : state}</span>
        </span>
        <span className="muted">
          {isLastKnown(state) ? timeAgo(p?.recordedAt, now) : speed(p?.speed ?? 0)}
        </span>
      </span>
    </button>
  );
}
