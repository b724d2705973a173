/**
 * The one place where GeoJSON's [lng, lat] order meets Leaflet's [lat, lng] (RFC 7946 §3.1.1:
 * a position is longitude first). Nothing else in the UI swaps coordinates.
 */
export type LngLat = [number, number];
export type LatLng = [number, number];

export interface Polygon {
  type: "Polygon";
  /** rings of [lng, lat]; each ring closed (first = last), the first ring the outline */
  coordinates: number[][][];
}

/** Leaflet polygon rings (open, as Leaflet keeps them) → a GeoJSON Polygon with closed rings. */
export function polygonFromLatLngs(rings: readonly (readonly { lat: number; lng: number }[])[]): Polygon {
  const coordinates = rings
    .filter((ring) => ring.length >= 3)
    .map((ring) => {
      const out = ring.map((p) => [round(p.lng), round(p.lat)]);
      const first = out[0] as number[];
      const last = out[out.length - 1] as number[];
      if (first[0] !== last[0] || first[1] !== last[1]) out.push([first[0] as number, first[1] as number]);
      return out;
    });
  return { type: "Polygon", coordinates };
}

/** A GeoJSON Polygon → Leaflet rings of [lat, lng], without the closing position. */
export function latLngsFromPolygon(polygon: Polygon): LatLng[][] {
  return polygon.coordinates.map((ring) => {
    const open = ring.length > 1 && sameLngLat(ring[0], ring[ring.length - 1]) ? ring.slice(0, -1) : ring;
    return open.map((p) => [p[1] as number, p[0] as number]);
  });
}

/** [lat, lng] of a GeoJSON position. */
export function latLngOf(position: readonly number[]): LatLng {
  return [position[1] as number, position[0] as number];
}

/** South-west and north-east corners ([lat, lng]) of a polygon's outline. */
export function polygonBounds(polygon: Polygon): [LatLng, LatLng] {
  let s = 90;
  let w = 180;
  let n = -90;
  let e = -180;
  for (const [lng, lat] of (polygon.coordinates[0] ?? []) as LngLat[]) {
    s = Math.min(s, lat);
    n = Math.max(n, lat);
    w = Math.min(w, lng);
    e = Math.max(e, lng);
  }
  return [
    [s, w],
    [n, e],
  ];
}

function sameLngLat(a: number[] | undefined, b: number[] | undefined): boolean {
  return a !== undefined && b !== undefined && a[0] === b[0] && a[1] === b[1];
}

// 1e-7 degrees is ~1 cm: enough for a geofence, and it keeps the stored JSON short
function round(x: number): number {
  return Math.round(x * 1e7) / 1e7;
}

const EARTH_RADIUS_M = 6_378_137;

/**
 * A polygon's area on the sphere in m² (the outline less its holes): the spherical excess
 * formula Leaflet.draw's geodesicArea uses, good to a fraction of a percent at geofence sizes.
 */
export function polygonArea(polygon: Polygon): number {
  const ringArea = (ring: number[][]) => {
    let sum = 0;
    for (let i = 0; i < ring.length - 1; i++) {
      const [lng1 = 0, lat1 = 0] = ring[i] as number[];
      const [lng2 = 0, lat2 = 0] = ring[i + 1] as number[];
      const rad = Math.PI / 180;
      sum += (lng2 - lng1) * rad * (2 + Math.sin(lat1 * rad) + Math.sin(lat2 * rad));
    }
    return Math.abs((sum * EARTH_RADIUS_M * EARTH_RADIUS_M) / 2);
  };
  const [outline, ...holes] = polygon.coordinates;
  if (!outline) return 0;
  return Math.max(
    0,
    holes.reduce((a, h) => a - ringArea(h), ringArea(outline)),
  );
}
