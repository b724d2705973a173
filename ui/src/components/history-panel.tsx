import L from "leaflet";
import { type FormEvent, useEffect, useState } from "react";
import { ApiError, api } from "../api.ts";
import { dateTime, num, toLocalInput } from "../format.ts";
import type { VehicleView } from "../use-vehicles.ts";
import { type Track, trackFromFeature } from "./track-layer.tsx";
import { VehicleSelect } from "./vehicle-select.tsx";

const REPLAY_STEP_MS = 100;

/** A vehicle's track between two times, replayed with a scrubber, exported as GPX or CSV. */
export function HistoryPanel(props: {
  vehicles: VehicleView[];
  initialVehicleId: string | undefined;
  map: L.Map | null;
  track: Track | undefined;
  onTrack: (t: Track | undefined) => void;
}) {
  const { track, onTrack } = props;
  const [vehicleId, setVehicleId] = useState(props.initialVehicleId ?? props.vehicles[0]?.id ?? "");
  const [from, setFrom] = useState(() => toLocalInput(new Date(Date.now() - 6 * 3_600_000)));
  const [to, setTo] = useState(() => toLocalInput(new Date(Date.now() + 60_000)));
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [playing, setPlaying] = useState(false);
  const range = { from: new Date(from), to: new Date(to) };
  const valid = vehicleId !== "" && range.from < range.to;

  const load = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setPlaying(false);
    try {
      const t = trackFromFeature(vehicleId, await api.track(vehicleId, range.from, range.to));
      onTrack(t);
      if (t.points.length === 0) setError("No fixes in this range.");
      else if (props.map) props.map.fitBounds(L.latLngBounds(t.points), { padding: [40, 40], maxZoom: 16 });
    } catch (err) {
      onTrack(undefined);
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    if (!playing || !track) return;
    const t = setInterval(() => {
      if (track.index >= track.points.length - 1) setPlaying(false);
      else onTrack({ ...track, index: track.index + 1 });
    }, REPLAY_STEP_MS);
    return () => clearInterval(t);
  }, [playing, track, onTrack]);

  return (
    <section className="history">
      <form className="card" onSubmit={load} aria-label="track">
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
        <button type="submit" disabled={!valid || busy}>
          {busy ? "Loading…" : "Show track"}
        </button>
        {valid && (
          <p className="row">
            Export:
            <a href={api.trackUrl(vehicleId, range.from, range.to, "gpx")} download>
              GPX
            </a>
            <a href={api.trackUrl(vehicleId, range.from, range.to, "csv")} download>
              CSV
            </a>
          </p>
        )}
      </form>
      {error && <p className="error">{error}</p>}
      {track && track.points.length > 0 && (
        <div className="card replay">
          <p>
            {track.points.length} points · {dateTime(track.times[0])} → {dateTime(track.times.at(-1))}
          </p>
          <input
            type="range"
            aria-label="replay position"
            min={0}
            max={track.points.length - 1}
            value={track.index}
            onChange={(e) => onTrack({ ...track, index: Number(e.target.value) })}
          />
          <p>
            {dateTime(track.times[track.index])} · {num(track.speed[track.index], 0, " km/h")}
          </p>
          <button
            type="button"
            onClick={() => {
              if (track.index >= track.points.length - 1) onTrack({ ...track, index: 0 });
              setPlaying(!playing);
            }}
          >
            {playing ? "Pause" : "Replay"}
          </button>
        </div>
      )}
    </section>
  );
}
