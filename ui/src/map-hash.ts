/**
 * The map view in the URL fragment, `#map=<zoom>/<lat>/<lng>` (as openstreetmap.org does): a
 * reload keeps the view and a link shows a colleague the same place. Only the view goes there.
 */
export interface MapViewState {
  zoom: number;
  lat: number;
  lng: number;
}

const HASH_RE = /^#map=(\d{1,2})\/(-?\d{1,2}(?:\.\d+)?)\/(-?\d{1,3}(?:\.\d+)?)$/;

export function readMapHash(hash = location.hash): MapViewState | undefined {
  const m = HASH_RE.exec(hash);
  if (!m) return undefined;
  const [zoom, lat, lng] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (zoom > 20 || Math.abs(lat) > 90 || Math.abs(lng) > 180) return undefined;
  return { zoom, lat, lng };
}

export function writeMapHash(v: MapViewState): void {
  const hash = `#map=${v.zoom}/${v.lat.toFixed(5)}/${v.lng.toFixed(5)}`;
  if (location.hash !== hash) history.replaceState(null, "", hash);
}
