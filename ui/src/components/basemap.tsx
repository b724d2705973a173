import L from "leaflet";
import { leafletRasterLayer, PMTiles, TileType } from "pmtiles";
import { useEffect, useState } from "react";
import { TileLayer, useMap } from "react-leaflet";
import type { UiConfig } from "../api.ts";

const BASEMAP_FILES = ["/basemap/land.geojson", "/basemap/dubai-roads.geojson"] as const;
type GeoJsonData = NonNullable<Parameters<typeof L.geoJSON>[0]>;
let shipped: Promise<GeoJsonData[]> | undefined;

/** The basemap data shipped with the app (ui/public/basemap, and the simulator's roads), read once. */
function loadShipped(): Promise<GeoJsonData[]> {
  shipped ??= Promise.all(
    BASEMAP_FILES.map(async (url) => {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`${url}: ${res.status}`);
      return (await res.json()) as GeoJsonData;
    }),
  ).catch((err: unknown) => {
    shipped = undefined;
    throw err;
  });
  return shipped;
}

type BasemapState = "loading" | "tiles" | "offline";

/**
 * Tiles from MAP_TILE_URL over an offline basemap drawn from data shipped with the app (land,
 * coastlines, the Dubai road network), in a pane below the tiles: while tiles load, where one
 * fails, or with no network at all, the map shows that instead of a grey box. The map container
 * says which one the viewer sees (`data-basemap`: tiles, or offline when no tile has loaded and
 * one has failed). A single-file raster .pmtiles basemap is read by the pmtiles library with
 * range requests (PmtilesLayer).
 */
export function Basemap(props: { config: UiConfig }) {
  const map = useMap();
  const [state, setState] = useState<BasemapState>(props.config.tileUrl ? "loading" : "offline");

  useEffect(() => {
    const pane = map.getPane("basemap") ?? map.createPane("basemap");
    pane.style.zIndex = "150"; // under the tile pane (200)
    const layers: L.Layer[] = [];
    let cancelled = false;
    loadShipped()
      .then(([land, roads]) => {
        if (cancelled) return;
        layers.push(
          L.geoJSON(land, {
            pane: "basemap",
            interactive: false,
            style: { stroke: true, color: "#b8c4b0", weight: 1, fillColor: "#f2efe9", fillOpacity: 1 },
          }),
          L.geoJSON(roads, {
            pane: "basemap",
            interactive: false,
            style: (f) => ({
              color: (f?.properties as { signals?: boolean })?.signals ? "#ffffff" : "#f6c667",
              weight: (f?.properties as { signals?: boolean })?.signals ? 3 : 4,
              opacity: 0.95,
            }),
          }),
        );
        for (const l of layers) l.addTo(map);
      })
      .catch((err: unknown) => console.warn("offline basemap unavailable:", err));
    return () => {
      cancelled = true;
      for (const l of layers) l.remove();
    };
  }, [map]);

  useEffect(() => {
    const c = map.getContainer();
    c.dataset.basemap = state;
    c.classList.toggle("basemap-offline", state === "offline");
  }, [map, state]);

  if (!props.config.tileUrl) return <OfflineNote />;
  if (props.config.tileFormat === "pmtiles")
    return (
      <>
        <PmtilesLayer config={props.config} onState={setState} />
        {state === "offline" && <OfflineNote />}
      </>
    );
  return (
    <>
      <TileLayer
        url={props.config.tileUrl}
        attribution={props.config.tileAttribution}
        maxZoom={props.config.maxZoom}
        eventHandlers={{
          tileload: () => setState("tiles"),
          tileerror: () => setState((s) => (s === "tiles" ? s : "offline")),
        }}
      />
      {state === "offline" && <OfflineNote />}
    </>
  );
}

const RASTER = new Set([TileType.Png, TileType.Jpeg, TileType.Webp, TileType.Avif]);

/**
 * A raster PMTiles archive as a Leaflet layer (the library's leafletRasterLayer). Its header says
 * which zooms it holds: beyond them Leaflet scales the nearest tiles rather than showing none.
 * An archive that cannot be read (missing, not PMTiles, vector tiles) leaves the offline basemap.
 */
function PmtilesLayer(props: { config: UiConfig; onState: (s: BasemapState) => void }) {
  const map = useMap();
  const { tileUrl, tileAttribution, maxZoom } = props.config;
  const { onState } = props;
  useEffect(() => {
    const source = new PMTiles(tileUrl);
    let layer: L.GridLayer | undefined;
    let cancelled = false;
    source
      .getHeader()
      .then((header) => {
        if (cancelled) return;
        if (!RASTER.has(header.tileType))
          throw new Error(`tile type ${header.tileType} is not a raster image`);
        layer = leafletRasterLayer(source, {
          attribution: tileAttribution,
          maxZoom,
          minNativeZoom: header.minZoom,
          maxNativeZoom: header.maxZoom,
        }) as L.GridLayer;
        layer.on("tileload", () => onState("tiles"));
        layer.addTo(map);
      })
      .catch((err: unknown) => {
        console.warn("PMTiles basemap unavailable:", err);
        if (!cancelled) onState("offline");
      });
    return () => {
      cancelled = true;
      layer?.remove();
    };
  }, [map, tileUrl, tileAttribution, maxZoom, onState]);
  return null;
}

function OfflineNote() {
  return (
    <div className="basemap-note" role="status">
      Map tiles unavailable: showing the built-in offline map
    </div>
  );
}
