import type L from "leaflet";
import { type ReactNode, useEffect, useRef, useState } from "react";
import { MapContainer, useMapEvents } from "react-leaflet";
import type { UiConfig } from "../api.ts";
import { readMapHash, writeMapHash } from "../map-hash.ts";
import type { BBox } from "../use-live-fleet.ts";
import { Basemap } from "./basemap.tsx";

// the platform's default fleet time zone is Asia/Dubai; a "fit fleet" button finds the rest
const START_CENTER: [number, number] = [25.2048, 55.2708];
const START_ZOOM = 11;

/**
 * The map: the basemap (tiles from MAP_TILE_URL over the offline one shipped with the app) and
 * the visible box reported on every move. The map is the skip link's target (#map).
 */
export function MapView(props: {
  config: UiConfig;
  onMap: (map: L.Map) => void;
  onBBox: (bbox: BBox) => void;
  children: ReactNode;
}) {
  const [start] = useState(() => readMapHash());
  return (
    <MapContainer
      center={start ? [start.lat, start.lng] : START_CENTER}
      zoom={start?.zoom ?? START_ZOOM}
      className="map"
      id="map"
      maxZoom={props.config.maxZoom}
      ref={(m) => {
        if (m) props.onMap(m);
      }}
      worldCopyJump
    >
      <Basemap config={props.config} />
      <BBoxWatcher onBBox={props.onBBox} />
      {props.children}
    </MapContainer>
  );
}

/**
 * Reports the visible box on load and after each move or zoom (the live socket re-subscribes),
 * and keeps the view in the URL fragment.
 */
function BBoxWatcher(props: { onBBox: (bbox: BBox) => void }) {
  const last = useRef("");
  const report = (map: L.Map) => {
    const c = map.getCenter();
    writeMapHash({ zoom: map.getZoom(), lat: c.lat, lng: c.wrap().lng });
    const bbox = visibleBBox(map);
    const key = bbox.join(",");
    if (key === last.current) return;
    last.current = key;
    props.onBBox(bbox);
  };
  const map = useMapEvents({ moveend: (e) => report(e.target as L.Map) });
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, for the first view
  useEffect(() => {
    map.whenReady(() => report(map));
    // the phone layout's bottom sheet resizes the map without resizing the window
    const ro = new ResizeObserver(() => map.invalidateSize());
    ro.observe(map.getContainer());
    // a #map= link followed or typed on an open page moves the map, as a reload would
    const onHash = () => {
      const v = readMapHash();
      if (v) map.setView([v.lat, v.lng], v.zoom);
    };
    window.addEventListener("hashchange", onHash);
    return () => {
      ro.disconnect();
      window.removeEventListener("hashchange", onHash);
    };
  }, [map]);
  return null;
}

/**
 * The view as the API's [w, s, e, n]. A view wider than the world, or across the antimeridian
 * (the API takes one box with west < east), asks for every longitude.
 */
export function visibleBBox(map: L.Map): BBox {
  const b = map.getBounds();
  const r = (x: number) => Math.round(x * 1e5) / 1e5;
  const s = Math.max(-90, b.getSouth());
  const n = Math.min(90, b.getNorth());
  let w = b.getWest();
  let e = b.getEast();
  if (e - w >= 360) return [-180, r(s), 180, r(n)];
  // bring the west edge into [-180, 180); the east edge follows
  const shift = Math.floor((w + 180) / 360) * 360;
  w -= shift;
  e -= shift;
  if (e > 180) return [-180, r(s), 180, r(n)];
  return [r(w), r(s), r(e), r(n)];
}
