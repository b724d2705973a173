import L from "leaflet";
import { type FormEvent, useState } from "react";
import { api } from "../api.ts";
import { downloadFile } from "../download.ts";
import { errorText } from "../error-text.ts";
import { displayZone } from "../format.ts";
import type { VehicleView } from "../use-vehicles.ts";
import { dayStart, fromZoneInput, toZoneInput } from "../zone-time.ts";
import { ErrorLine } from "./error-line.tsx";
import { HistoryReplay } from "./history-replay.tsx";
import { type Track, trackFromFeature } from "./track-layer.tsx";
import { VehicleSelect } from "./vehicle-select.tsx";

type Range = { from: Date; to: Date };
type Format = "geojson" | "gpx" | "csv";

/** Days in the display zone (the fleet's, or the one the viewer chose). */
const PRESETS: { label: string; range: (now: Date, zone: string) => Range }[] = [
  {
    label: "Today",
    range: (now, zone) => ({ from: dayStart(now, zone), to: new Date(now.getTime() + 60_000) }),
  },
  { label: "Yesterday", range: (now, zone) => ({ from: dayStart(now, zone, 1), to: dayStart(now, zone) }) },
  {
    label: "Last 7 days",
    range: (now, zone) => ({ from: dayStart(now, zone, 6), to: new Date(now.getTime() + 60_000) }),
  },
];

const LABELS = { "querystring.to": "The time range", "querystring.from": "The start" };

/** A vehicle's track between two times, replayed with a scrubber, exported as GeoJSON, GPX or CSV. */
export function HistoryPanel(props: {
  vehicles: VehicleView[];
  initialVehicleId: string | undefined;
  map: L.Map | null;
  track: Track | undefined;
  onTrack: (t: Track | undefined) => void;
  /** TRIP_GAP_SECONDS: a longer silence is a gap in the track */
  gapSeconds: number;
}) {
  const { track, onTrack } = props;
  const zone = displayZone();
  const [vehicleId, setVehicleId] = useState(props.initialVehicleId ?? props.vehicles[0]?.id ?? "");
  const [range, setRange] = useState<Range>(() => ({
    from: new Date(Date.now() - 6 * 3_600_000),
    to: new Date(Date.now() + 60_000),
  }));
  const [error, setError] = useState<string | undefined>();
  const [exportError, setExportError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [exporting, setExporting] = useState<Format | undefined>();
  const valid =
    vehicleId !== "" &&
    !Number.isNaN(range.from.getTime()) &&
    !Number.isNaN(range.to.getTime()) &&
    range.from < range.to;

  const load = async (r: Range) => {
    setBusy(true);
    setError(undefined);
    try {
      const t = trackFromFeature(
        vehicleId,
        await api.track(vehicleId, r.from, r.to),
        props.gapSeconds * 1000,
      );
      onTrack(t);
      if (t.points.length === 0) setError("No fixes in this range.");
      else if (props.map) fitTrack(props.map, t.points);
    } catch (err) {
      onTrack(undefined);
      setError(errorText(err, LABELS));
    } finally {
      setBusy(false);
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void load(range);
  };

  const preset = (p: (typeof PRESETS)[number]) => {
    const r = p.range(new Date(), zone);
    setRange(r);
    if (vehicleId !== "") void load(r);
  };

  const download = async (format: Format) => {
    setExporting(format);
    setExportError(undefined);
    try {
      const name = `${vehicleId}-${toZoneInput(range.from, zone).slice(0, 10)}.${format}`;
      await downloadFile(api.trackUrl(vehicleId, range.from, range.to, format), name);
    } catch (err) {
      setExportError(`The ${format.toUpperCase()} export failed: ${errorText(err, LABELS)}`);
    } finally {
      setExporting(undefined);
    }
  };

  return (
    <section className="history">
      <form className="card" onSubmit={submit} aria-label="track">
        <VehicleSelect
          vehicles={props.vehicles}
          value={vehicleId}
          onChange={setVehicleId}
          empty="choose…"
          required
        />
        <fieldset className="group">
          <legend>Range in {zone}</legend>
          {PRESETS.map((p) => (
            <button key={p.label} type="button" disabled={vehicleId === "" || busy} onClick={() => preset(p)}>
              {p.label}
            </button>
          ))}
        </fieldset>
        <label>
          From ({zone})
          <input
            type="datetime-local"
            value={toZoneInput(range.from, zone)}
            onChange={(e) => setRange({ ...range, from: fromZoneInput(e.target.value, zone) })}
            required
          />
          {/* the browser draws the input in its own locale (maybe 12-hour): the value in 24-hour form */}
          <span className="muted" data-testid="range-from-24h">
            {toZoneInput(range.from, zone).replace("T", " ")}
          </span>
        </label>
        <label>
          To ({zone})
          <input
            type="datetime-local"
            value={toZoneInput(range.to, zone)}
            onChange={(e) => setRange({ ...range, to: fromZoneInput(e.target.value, zone) })}
            required
          />
          {/* the browser draws the input in its own locale (maybe 12-hour): the value in 24-hour form */}
          <span className="muted" data-testid="range-to-24h">
            {toZoneInput(range.to, zone).replace("T", " ")}
          </span>
        </label>
        <button type="submit" disabled={!valid || busy}>
          {busy ? "Loading…" : "Show track"}
        </button>
        {valid && (
          <p className="row">
            Export:
            {(["geojson", "gpx", "csv"] as const).map((f) => (
              <button
                key={f}
                type="button"
                className="link"
                disabled={exporting !== undefined}
                onClick={() => void download(f)}
              >
                {exporting === f ? "Exporting…" : f === "geojson" ? "GeoJSON" : f.toUpperCase()}
              </button>
            ))}
          </p>
        )}
        <ErrorLine error={exportError} testId="export-error" />
      </form>
      {error && <p className="error">{error}</p>}
      {track && track.points.length > 0 && <HistoryReplay track={track} onTrack={onTrack} />}
    </section>
  );
}

/**
 * The whole track in view, clear of the legend over the map's bottom-left corner (map-legend.tsx):
 * its height is padding at the bottom, so the start and end markers are never under it.
 */
function fitTrack(map: L.Map, points: L.LatLngExpression[]): void {
  const legend = map.getContainer().closest(".map-area")?.querySelector(".map-legend");
  const below = legend ? legend.getBoundingClientRect().height + 40 : 40;
  map.fitBounds(L.latLngBounds(points), {
    paddingTopLeft: [40, 40],
    paddingBottomRight: [40, below],
    maxZoom: 16,
  });
}
