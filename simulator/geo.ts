/** Spherical-earth geometry for the simulator (WGS 84 coordinates, metres, degrees). */
export interface LatLng {
  lat: number;
  lng: number;
}

/** IUGG mean earth radius; the haversine error against the ellipsoid is under 0.5 %. */
const EARTH_RADIUS_M = 6_371_008.8;
const RAD = Math.PI / 180;

/** Great-circle distance in metres (haversine). */
export function distanceM(a: LatLng, b: LatLng): number {
  const dLat = (b.lat - a.lat) * RAD;
  const dLng = (b.lng - a.lng) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Initial bearing from a to b, degrees clockwise from north in [0, 360). */
export function bearingDeg(a: LatLng, b: LatLng): number {
  const phi1 = a.lat * RAD;
  const phi2 = b.lat * RAD;
  const dLng = (b.lng - a.lng) * RAD;
  const y = Math.sin(dLng) * Math.cos(phi2);
  const x = Math.cos(phi1) * Math.sin(phi2) - Math.sin(phi1) * Math.cos(phi2) * Math.cos(dLng);
  return normalizeDeg(Math.atan2(y, x) / RAD);
}

/**
 * The point a fraction t of the way from a to b. Linear in degrees: over the few kilometres of a
 * road segment it stays within centimetres of the great circle.
 */
export function interpolate(a: LatLng, b: LatLng, t: number): LatLng {
  return { lat: a.lat + (b.lat - a.lat) * t, lng: a.lng + (b.lng - a.lng) * t };
}

/** Moves a point by metres north and east (GPS noise). */
export function offsetM(p: LatLng, northM: number, eastM: number): LatLng {
  return {
    lat: p.lat + northM / (EARTH_RADIUS_M * RAD),
    lng: p.lng + eastM / (EARTH_RADIUS_M * RAD * Math.cos(p.lat * RAD)),
  };
}

/** Smallest absolute difference between two bearings, in [0, 180]. */
export function turnDeg(from: number, to: number): number {
  const d = Math.abs(normalizeDeg(to - from));
  return d > 180 ? 360 - d : d;
}

export function normalizeDeg(d: number): number {
  const r = d % 360;
  return r < 0 ? r + 360 : r;
}

/** Distance in metres from p to the segment a-b (local equirectangular projection). */
export function distanceToSegmentM(p: LatLng, a: LatLng, b: LatLng): number {
  const k = Math.cos(p.lat * RAD);
  const ax = (a.lng - p.lng) * k;
  const ay = a.lat - p.lat;
  const bx = (b.lng - p.lng) * k;
  const by = b.lat - p.lat;
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2));
  const x = ax + t * dx;
  const y = ay + t * dy;
  return Math.sqrt(x * x + y * y) * EARTH_RADIUS_M * RAD;
}

/** A smooth pseudo-terrain for altitudes: Dubai lies 0-60 m above sea level, rising inland. */
export function terrainAltitudeM(p: LatLng): number {
  return 8 + 20 * Math.abs(Math.sin(p.lat * 40) * Math.cos(p.lng * 30)) + Math.max(0, (p.lng - 55.2) * 150);
}
