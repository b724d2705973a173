import { type FormEvent, useState } from "react";
import { ApiError, api, type DailyRow, type Stop, type Trip } from "../api.ts";
import { dateTime, duration, num, toLocalDate, toLocalInput } from "../format.ts";
import type { VehicleView } from "../use-vehicles.ts";
import { DailyChart } from "./daily-chart.tsx";

const message = (err: unknown) =>
  err instanceof ApiError && err.status === 404 && /route/i.test(err.message)
    ? "This report is not available on this server yet."
    : err instanceof Error
      ? err.message
      : String(err);

/** Daily analytics (table and chart) and a vehicle's trips and stops. */
export function ReportsPanel(props: { vehicles: VehicleView[] }) {
  return (
    <section className="reports">
      <DailyReport />
      <TripsReport vehicles={props.vehicles} />
    </section>
  );
}

function DailyReport() {
  const [date, setDate] = useState(() => toLocalDate(new Date()));
  const [rows, setRows] = useState<DailyRow[] | undefined>();
  const [error, setError] = useState<string | undefined>();

  const load = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      setRows(await api.daily(date));
    } catch (err) {
      setRows(undefined);
      setError(message(err));
    }
  };

  return (
    <div className="card">
      <form className="row" onSubmit={load} aria-label="daily analytics">
        <h3>Daily</h3>
        <input type="date" value={date} onChange={(e) => setDate(e.target.value)} required />
        <button type="submit">Show</button>
      </form>
      {error && <p className="error">{error}</p>}
      {rows && rows.length === 0 && <p className="muted">No data for this day.</p>}
      {rows && rows.length > 0 && (
        <>
          <DailyChart rows={rows} />
          <table className="table">
            <thead>
              <tr>
                <th>Vehicle</th>
                <th>km</th>
                <th>avg</th>
                <th>max</th>
                <th>moving</th>
                <th>idle</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.vehicleId}>
                  <td>{r.vehicleId}</td>
                  <td>{num(r.distanceKm, 1)}</td>
                  <td>{num(r.avgSpeedKmh, 0)}</td>
                  <td>{num(r.maxSpeedKmh, 0)}</td>
                  <td>{duration(r.movingSeconds)}</td>
                  <td>{duration(r.idleSeconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

function TripsReport(props: { vehicles: VehicleView[] }) {
  const [vehicleId, setVehicleId] = useState(props.vehicles[0]?.id ?? "");
  const [from, setFrom] = useState(() => toLocalInput(new Date(Date.now() - 86_400_000)));
  const [to, setTo] = useState(() => toLocalInput(new Date()));
  const [trips, setTrips] = useState<Trip[] | undefined>();
  const [stops, setStops] = useState<Stop[] | undefined>();
  const [error, setError] = useState<string | undefined>();

  const load = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    const range = [new Date(from), new Date(to)] as const;
    const [t, s] = await Promise.allSettled([api.trips(vehicleId, ...range), api.stops(vehicleId, ...range)]);
    setTrips(t.status === "fulfilled" ? t.value : undefined);
    setStops(s.status === "fulfilled" ? s.value : undefined);
    const failed = [t, s].find((r) => r.status === "rejected");
    if (failed) setError(message(failed.reason));
  };

  return (
    <div className="card">
      <form onSubmit={load} aria-label="trips and stops">
        <h3>Trips and stops</h3>
        <select value={vehicleId} onChange={(e) => setVehicleId(e.target.value)} required>
          <option value="">vehicle…</option>
          {props.vehicles.map((v) => (
            <option key={v.id} value={v.id}>
              {v.id}
            </option>
          ))}
        </select>
        <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} required />
        <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} required />
        <button type="submit">Show</button>
      </form>
      {error && <p className="error">{error}</p>}
      {trips && (
        <table className="table" aria-label="trips">
          <thead>
            <tr>
              <th>Trip start</th>
              <th>end</th>
              <th>km</th>
              <th>max</th>
            </tr>
          </thead>
          <tbody>
            {trips.map((t) => (
              <tr key={t.startAt}>
                <td>{dateTime(t.startAt)}</td>
                <td>{dateTime(t.endAt)}</td>
                <td>{num(t.distanceKm, 1)}</td>
                <td>{num(t.maxSpeedKmh, 0)}</td>
              </tr>
            ))}
            {trips.length === 0 && (
              <tr>
                <td colSpan={4}>No trips.</td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      {stops && (
        <table className="table" aria-label="stops">
          <thead>
            <tr>
              <th>Stop start</th>
              <th>end</th>
              <th>duration</th>
              <th>where</th>
            </tr>
          </thead>
          <tbody>
            {stops.map((s) => (
              <tr key={s.startAt}>
                <td>{dateTime(s.startAt)}</td>
                <td>{dateTime(s.endAt)}</td>
                <td>{duration(s.durationSeconds)}</td>
                <td>
                  {s.lat !== undefined && s.lng !== undefined
                    ? `${s.lat.toFixed(4)}, ${s.lng.toFixed(4)}`
                    : "—"}
                </td>
              </tr>
            ))}
            {stops.length === 0 && (
              <tr>
                <td colSpan={4}>No stops.</td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}
