import { type FormEvent, useEffect, useMemo, useState } from "react";
import type { FleetEvent, GeofenceFeature } from "../api.ts";
import { errorText } from "../error-text.ts";
import { dateTime, toLocalInput } from "../format.ts";
import { type EventQuery, type EventRow, reportsApi } from "../reports-api.ts";
import type { VehicleView } from "../use-vehicles.ts";
import { Pager } from "./data-table.tsx";
import { ErrorLine } from "./error-line.tsx";
import { ExportButton } from "./export-button.tsx";
import { VehicleSelect } from "./vehicle-select.tsx";

const PAGE = 100;
const KINDS: [EventQuery["kind"], string][] = [
  ["geofence", "Geofence enter and exit"],
  ["enter", "enter"],
  ["exit", "exit"],
  ["presence", "Online and offline"],
  ["online", "online"],
  ["offline", "offline"],
  ["", "All kinds"],
];

interface Form {
  from: string;
  to: string;
  vehicleId: string;
  geofenceId: string;
  kind: EventQuery["kind"];
}

const toQuery = (f: Form): EventQuery => ({
  from: new Date(f.from),
  ...(f.to ? { to: new Date(f.to) } : {}),
  vehicleId: f.vehicleId,
  geofenceId: f.geofenceId,
  kind: f.kind,
});

/** Whether a live event belongs in the list the filter shows. */
function matches(e: FleetEvent, q: EventQuery): boolean {
  const at = new Date(e.at).getTime();
  return (
    at >= q.from.getTime() &&
    (q.to === undefined || at < q.to.getTime()) &&
    (!q.vehicleId || e.vehicleId === q.vehicleId) &&
    (!q.geofenceId || String(e.geofenceId) === q.geofenceId) &&
    (!q.kind || q.kind === "geofence" || e.kind === q.kind)
  );
}

/**
 * Geofence and presence events of the fleet in the wide view, newest first: filtered by vehicle,
 * geofence, kind and time range by the API, paged by its cursor, exported as CSV with the same
 * filter. Events arriving on /ws that fit the filter join the first page as they happen; a
 * retraction (a replay after late fixes proved an event false) removes that one.
 */
export function EventsView(props: {
  vehicles: VehicleView[];
  geofences: GeofenceFeature[];
  live: FleetEvent[];
  onSelectVehicle: (id: string) => void;
}) {
  const [form, setForm] = useState<Form>(() => ({
    from: toLocalInput(new Date(Date.now() - 86_400_000)),
    to: "",
    vehicleId: "",
    geofenceId: "",
    kind: "geofence",
  }));
  const [applied, setApplied] = useState(() => toQuery(form));
  // the cursors of the pages shown so far: undefined is the first (newest) page
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<{ items: EventRow[]; nextCursor: string | null } | undefined>();
  const [error, setError] = useState<string | undefined>();
  const cursor = cursors.at(-1);

  useEffect(() => {
    let current = true;
    setError(undefined);
    reportsApi
      .events(applied, PAGE, cursor)
      .then((p) => current && setPage(p))
      .catch((err: unknown) => {
        if (!current) return;
        setPage(undefined);
        setError(errorText(err, { "querystring.to": "The end", "querystring.from": "The start" }));
      });
    return () => {
      current = false;
    };
  }, [applied, cursor]);

  const rows = useMemo(() => {
    const retracted = new Set(props.live.filter((e) => e.retracted).map((e) => e.id));
    const loaded = page?.items ?? [];
    const ids = new Set(loaded.map((e) => e.id));
    const fresh =
      cursors.length === 1
        ? props.live.filter((e) => !e.retracted && !ids.has(e.id) && matches(e, applied))
        : [];
    return [...fresh, ...loaded].filter((e) => !retracted.has(e.id));
  }, [props.live, page, cursors.length, applied]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (form.to && form.to <= form.from) return setError("The end must be after the start.");
    setCursors([undefined]);
    setApplied(toQuery(form));
  };
  const set = (patch: Partial<Form>) => setForm({ ...form, ...patch });

  return (
    <section className="wide-view events" aria-label="events">
      <h2>Events</h2>
      <form className="row filters" onSubmit={submit} aria-label="event filters">
        <label>
          From
          <input
            type="datetime-local"
            value={form.from}
            onChange={(e) => set({ from: e.target.value })}
            required
          />
        </label>
        <label>
          To
          <input type="datetime-local" value={form.to} onChange={(e) => set({ to: e.target.value })} />
        </label>
        <VehicleSelect
          vehicles={props.vehicles}
          value={form.vehicleId}
          onChange={(vehicleId) => set({ vehicleId })}
          empty="All vehicles"
        />
        <label>
          Geofence
          <select value={form.geofenceId} onChange={(e) => set({ geofenceId: e.target.value })}>
            <option value="">All geofences</option>
            {props.geofences.map((g) => (
              <option key={g.id} value={String(g.id)}>
                {g.properties.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Kind
          <select value={form.kind} onChange={(e) => set({ kind: e.target.value as Form["kind"] })}>
            {KINDS.map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Show</button>
        <ExportButton url={() => reportsApi.eventsCsvUrl(applied)} filename="events.csv" />
      </form>
      <p className="muted">Newest first{applied.to ? "" : "; new events appear as they happen"}.</p>
      <ErrorLine error={error} testId="events-error" />
      <table className="table data-table" aria-label="events">
        <thead>
          <tr>
            <th>Time</th>
            <th>Kind</th>
            <th>Vehicle</th>
            <th>Geofence</th>
            <th>Confirmed</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr key={e.id} data-testid="event-row" data-vehicle-id={e.vehicleId}>
              <td>
                {dateTime(e.at)}
                {"late" in e && e.late && " (late)"}
              </td>
              <td>
                <span className={`event-kind event-${e.kind}`}>{e.kind}</span>
              </td>
              <td>
                <button type="button" className="link" onClick={() => props.onSelectVehicle(e.vehicleId)}>
                  {e.vehicleId}
                </button>
              </td>
              <td>{e.type === "geofence" ? e.geofenceName : "—"}</td>
              <td>{e.type === "geofence" ? dateTime(e.confirmedAt) : "—"}</td>
            </tr>
          ))}
          {rows.length === 0 && (
            <tr>
              <td colSpan={5}>{page ? "No events for this filter." : "Loading…"}</td>
            </tr>
          )}
        </tbody>
      </table>
      <Pager
        text={`page ${cursors.length}`}
        hasPrevious={cursors.length > 1}
        hasNext={Boolean(page?.nextCursor)}
        onPrevious={() => setCursors(cursors.slice(0, -1))}
        onNext={() => page?.nextCursor && setCursors([...cursors, page.nextCursor])}
      />
    </section>
  );
}
