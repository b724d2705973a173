import { CircleMarker, Polyline, Tooltip } from "react-leaflet";
import type { TrackFeature } from "../api.ts";
import { dateTime, duration, speed } from "../format.ts";
import { type LatLng, latLngOf } from "../geojson.ts";

/**
 * A loaded track: its points (Leaflet order) and per-point properties, and the scrubber's time.
 * Two fixes further apart than `gapMs` (TRIP_GAP_SECONDS) have a gap between them: nothing is
 * known of the way the vehicle went, so it is drawn dashed, never as a road driven.
 */
export interface Track {
  vehicleId: string;
  points: LatLng[];
  /** epoch ms, one per point, ascending */
  times: number[];
  speed: (number | null)[];
  gapMs: number;
  /** the scrubber's time, epoch ms, from times[0] to the last */
  at: number;
}

export function trackFromFeature(vehicleId: string, f: TrackFeature, gapMs: number): Track {
  const g = f.geometry;
  const coords = g === null ? [] : g.type === "Point" ? [g.coordinates] : g.coordinates;
  const props = f.properties.coordinateProperties;
  const times = props.times.map((t) => Date.parse(t));
  return { vehicleId, points: coords.map(latLngOf), times, speed: props.speed, gapMs, at: times[0] ?? 0 };
}

/** The runs of fixes no gap interrupts, and the gaps between them (each a pair of fixes). */
export function trackPieces(track: Track): { runs: LatLng[][]; gaps: { from: number; to: number }[] } {
  const runs: LatLng[][] = [];
  const gaps: { from: number; to: number }[] = [];
  let run: LatLng[] = [];
  track.points.forEach((p, i) => {
    if (i > 0 && (track.times[i] ?? 0) - (track.times[i - 1] ?? 0) > track.gapMs) {
      runs.push(run);
      gaps.push({ from: i - 1, to: i });
      run = [];
    }
    run.push(p);
  });
  if (run.length > 0) runs.push(run);
  return { runs, gaps };
}

/** The last fix at or before `at` (0 before the first). */
export function indexAt(track: Track, at: number): number {
  let lo = 0;
  let hi = track.times.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if ((track.times[mid] ?? 0) <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Where the vehicle was at `at`: between two fixes on the straight line joining them, but in a
 * gap at the fix before it (where it was last seen), with `inGap` set.
 */
export function positionAt(track: Track, at: number): { point: LatLng; index: number; inGap: boolean } {
  const i = indexAt(track, at);
  const a = track.points[i] as LatLng;
  const b = track.points[i + 1];
  const ta = track.times[i] ?? at;
  const tb = track.times[i + 1];
  if (!b || tb === undefined || tb <= ta) return { point: a, index: i, inGap: false };
  if (tb - ta > track.gapMs) return { point: a, index: i, inGap: true };
  const k = Math.min(1, Math.max(0, (at - ta) / (tb - ta)));
  return { point: [a[0] + (b[0] - a[0]) * k, a[1] + (b[1] - a[1]) * k], index: i, inGap: false };
}

const LINE = "#d81b60";

export function TrackLayer(props: { track: Track }) {
  const { track } = props;
  const { runs, gaps } = trackPieces(track);
  const here = track.points.length > 0 ? positionAt(track, track.at) : undefined;
  const first = track.points[0];
  const last = track.points.at(-1);
  return (
    <>
      {runs.map((run, i) =>
        run.length > 1 ? (
          <Polyline
            // biome-ignore lint/suspicious/noArrayIndexKey: runs are rebuilt together with the track
            key={`run-${i}`}
            positions={run}
            className="track-run"
            pathOptions={{ color: LINE, weight: 3, opacity: 0.8 }}
          />
        ) : null,
      )}
      {gaps.map((g) => (
        <Polyline
          key={`gap-${g.from}`}
          positions={[track.points[g.from] as LatLng, track.points[g.to] as LatLng]}
          className="track-gap"
          pathOptions={{ color: "#757575", weight: 2, opacity: 0.8, dashArray: "4 8" }}
        >
          <Tooltip sticky>
            No fixes for {duration(((track.times[g.to] ?? 0) - (track.times[g.from] ?? 0)) / 1000)}
          </Tooltip>
        </Polyline>
      ))}
      {first && (
        <CircleMarker
          center={first}
          className="track-start"
          radius={7}
          pathOptions={{ color: "#fff", fillColor: "#2e7d32", fillOpacity: 1 }}
        >
          <Tooltip>Start · {dateTime(track.times[0])}</Tooltip>
        </CircleMarker>
      )}
      {last && track.points.length > 1 && (
        <CircleMarker
          center={last}
          className="track-end"
          radius={7}
          pathOptions={{ color: "#fff", fillColor: "#212121", fillOpacity: 1 }}
        >
          <Tooltip>End · {dateTime(track.times.at(-1))}</Tooltip>
        </CircleMarker>
      )}
      {here && (
        <CircleMarker
          center={here.point}
          className="track-here"
          radius={8}
          pathOptions={{ color: "#fff", fillColor: LINE, fillOpacity: 1 }}
        >
          <Tooltip permanent direction="top" offset={[0, -8]}>
            {dateTime(track.at)} · {here.inGap ? "no fixes (last seen here)" : speed(track.speed[here.index])}
          </Tooltip>
        </CircleMarker>
      )}
    </>
  );
}
