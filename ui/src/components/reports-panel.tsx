import { type FormEvent, useCallback, useEffect, useState } from "react";
import { ApiError, api, type DailyReport, type Stop, type Trip } from "../api.ts";
import { dateTime, duration, num, toLocalInput } from "../format.ts";
import type { VehicleView } from "../use-vehicles.ts";
import { DailyChart } from "./daily-chart.tsx";
import { VehicleSelect } from "./vehicle-select.tsx";

const message = (err: unknown) =>
  err instanceof ApiError || err instanceof Error ? err.message : String(err);
const km = (m: number) => num(m / 1000, 1);

/** Daily analytics (table and chart) and a vehicle's trips and stops. */
export function ReportsPanel(props: { vehicles: VehicleView[]; initialVehicleId: string | undefined }) {
  return (
    <section className="reports">
      <DailyAnalytics />
      <TripsAndStops vehicles={props.vehicles} initialVehicleId={props.initialVehicleId} />
    </section>
  );
}

function DailyAnalytics() {
  // empty until the first answer: the API picks today in the fleet's time zone (FLEET_TZ)
  const [date, setDate] = useState("");
  const [report, setReport] = useState<DailyReport | undefined>();
  const [error, setError] = useState<string | undefined>();

  const load = useCallback(async (day?: string) => {
    setError(undefined);
    try {
      const r = await api.daily(day);
      setReport(r);
      setDate(r.date);
    } catch (err) {
      setReport(undefined);
      setError(message(err));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void load(date || undefined);
  };

  const rows = report?.items;
  return (
    <div className="card">
      <form className="row" onSubmit={submit} aria-label="daily analytics">
        <h3>Daily</h3>
        <input type="date" value={date} onChange={(e) => setDate(e.target.value)} aria-label="day" />
        <button type="submit">Show</button>
      </form>
      {report && (
        <p className="muted">
          Fleet day {report.date} ({report.timeZone})
        </p>
      )}
      {error && <p className="error">{error}</p>}
      {rows && rows.length === 0 && <p className="muted">No data for this day.</p>}
      {rows && rows.length > 0 && (
        <>
          <DailyChart rows={rows} />
          <table className="table" aria-label="daily analytics per vehicle">
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
                  <td>{km(r.distanceM)}</td>
                  <td>{num(r.avgSpeedKmh, 0)}</td>
                  <td>{num(r.maxSpeedKmh, 0)}</td>
                  <td>{duration(r.movingS)}</td>
                  <td>{duration(r.idleS)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

function TripsAndStops(props: { vehicles: VehicleView[]; initialVehicleId: string | undefined }) {
  const [vehicleId, setVehicleId] = useState(props.initialVehicleId ?? props.vehicles[0]?.id ?? "");
  const [from, setFrom] = useState(() => toLocalInput(new Date(Date.now() - 86_400_000)));
  const [to, setTo] = useState(() => toLocalInput(new Date(Date.now() + 60_000)));
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
        <VehicleSelect
          vehicles={props.vehicles}
          value={vehicleId}
          onChange={setVehicleId}
          empty="choose…"
          required
        />
        <label>
          From
          <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} required />
        </label>
        <label>
          To
          <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} required />
        </label>
        <button type="submit">Show</button>
      </form>
      {error && <p className="error">{error}</p>}
      {trips && (
        <table className="table" aria-label="trips">
          <thead>
            <tr>
              <th>Trip start</th>
              <th>duration</th>
              <th>km</th>
              <th>max km/h</th>
            </tr>
          </thead>
          <tbody>
            {trips.map((t) => (
              <tr key={t.id} title={`ended ${dateTime(t.endedAt)}`}>
                <td>{dateTime(t.startedAt)}</td>
                <td>{duration(t.durationS)}</td>
                <td>{km(t.distanceM)}</td>
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
              <th>duration</th>
              <th>where</th>
            </tr>
          </thead>
          <tbody>
            {stops.map((s) => (
              <tr key={s.id} title={`ended ${dateTime(s.endedAt)}`}>
                <td>{dateTime(s.startedAt)}</td>
                <td>{duration(s.durationS)}</td>
                <td>{`${s.lat.toFixed(4)}, ${s.lng.toFixed(4)}`}</td>
              </tr>
            ))}
            {stops.length === 0 && (
              <tr>
                <td colSpan={3}>No stops.</td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}
