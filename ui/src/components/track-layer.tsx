import { CircleMarker, Polyline, Tooltip } from "react-leaflet";
import type { TrackFeature } from "../api.ts";
import { dateTime, num } from "../format.ts";
import { type LatLng, latLngOf } from "../geojson.ts";

/** A loaded track: its points (Leaflet order) and per-point properties, and the scrubber position. */
export interface Track {
  vehicleId: string;
  points: LatLng[];
  times: string[];
  speed: (number | null)[];
  index: number;
}

export function trackFromFeature(vehicleId: string, f: TrackFeature): Track {
  const g = f.geometry;
  const coords = g === null ? [] : g.type === "Point" ? [g.coordinates] : g.coordinates;
  const props = f.properties.coordinateProperties;
  return { vehicleId, points: coords.map(latLngOf), times: props.times, speed: props.speed, index: 0 };
}

export function TrackLayer(props: { track: Track }) {
  const { points, index } = props.track;
  const here = points[index];
  return (
    <>
      {points.length > 1 && (
        <Polyline positions={points} pathOptions={{ color: "#d81b60", weight: 3, opacity: 0.8 }} />
      )}
      {here && (
        <CircleMarker
          center={here}
          radius={8}
          pathOptions={{ color: "#fff", fillColor: "#d81b60", fillOpacity: 1 }}
        >
          <Tooltip permanent direction="top" offset={[0, -8]}>
            {dateTime(props.track.times[index])} · {num(props.track.speed[index], 0, " km/h")}
          </Tooltip>
        </CircleMarker>
      )}
    </>
  );
}
