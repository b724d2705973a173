import type { TrackPoint } from "./track-query.ts";

/** A track as GeoJSON, GPX 1.1 or CSV. Coordinates are [lng, lat]; times ISO-8601 UTC. */
export interface TrackMeta {
  vehicleId: string;
  from: Date;
  to: Date;
  simplified: boolean;
  /** 1, or k when only every k-th fix of the range went into the simplifier (api/track-query.ts) */
  thinnedEvery: number;
}

const iso = (t: number) => new Date(t).toISOString();

/**
 * A Feature whose LineString holds the points in time order, and whose
 * `properties.coordinateProperties` holds one array per property, index-aligned with the
 * coordinates (the convention of mapbox/togeojson). One point is a Point, none a null geometry.
 */
export function toGeoJson(points: TrackPoint[], meta: TrackMeta) {
  const coordinates = points.map((p) => [p.lng, p.lat]);
  const geometry =
    points.length === 0
      ? null
      : points.length === 1
        ? { type: "Point" as const, coordinates: coordinates[0] }
        : { type: "LineString" as const, coordinates };
  return {
    type: "Feature" as const,
    geometry,
    properties: {
      vehicleId: meta.vehicleId,
      from: meta.from.toISOString(),
      to: meta.to.toISOString(),
      count: points.length,
      simplified: meta.simplified,
      thinnedEvery: meta.thinnedEvery,
      coordinateProperties: {
        times: points.map((p) => iso(p.t)),
        speed: points.map((p) => p.speed),
        heading: points.map((p) => p.heading),
        altitude: points.map((p) => p.altitude),
        accuracy: points.map((p) => p.accuracy),
        ignition: points.map((p) => p.ignition),
        odometer: points.map((p) => p.odometer),
        attributes: points.map((p) => p.attributes),
      },
    },
  };
}

const xml = (s: string) =>
  s.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c,
  );

export function toGpx(points: TrackPoint[], meta: TrackMeta): string {
  const pts = points.map((p) => {
    const ele = p.altitude === null ? "" : `<ele>${p.altitude}</ele>`;
    return `<trkpt lat="${p.lat}" lon="${p.lng}">${ele}<time>${iso(p.t)}</time></trkpt>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<gpx version="1.1" creator="logitrack" xmlns="http://www.topografix.com/GPX/1/1">',
    `<trk><name>${xml(meta.vehicleId)}</name><trkseg>`,
    ...pts,
    "</trkseg></trk>",
    "</gpx>",
    "",
  ].join("\n");
}

const CSV_HEADER = "recordedAt,lat,lng,speed,heading,altitude,accuracy,ignition,odometer";

export function toCsv(points: TrackPoint[]): string {
  const cell = (v: number | boolean | null) => (v === null ? "" : String(v));
  const lines = points.map((p) =>
    [iso(p.t), p.lat, p.lng, p.speed, p.heading, p.altitude, p.accuracy, p.ignition, p.odometer]
      .map((v) => cell(v as number | boolean | null))
      .join(","),
  );
  return `${[CSV_HEADER, ...lines].join("\n")}\n`;
}
