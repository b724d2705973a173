import L from "leaflet";
import { leafletRasterLayer, PMTiles, TileType } from "pmtiles";
import { type Dispatch, type SetStateAction, useEffect, useState } from "react";
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
  return <XyzTiles config={props.config} state={state} onState={setState} />;
}

/**
 * {z}/{x}/{y} tiles, after one probe tile of the view has loaded: with no tile server in reach
 * the page makes one failed request, not one per tile in view, and shows no tile layer (nor its
 * attribution) over the offline basemap; "try again" probes anew.
 */
function XyzTiles(props: {
  config: UiConfig;
  state: BasemapState;
  onState: Dispatch<SetStateAction<BasemapState>>;
}) {
  const map = useMap();
  const { tileUrl } = props.config;
  const { onState } = props;
  const [probe, setProbe] = useState(0);
  const [reachable, setReachable] = useState(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: probe re-runs the check on "try again"
  useEffect(() => {
    const img = new Image();
    let done = false;
    img.onload = () => {
      done = true;
      setReachable(true);
    };
    img.onerror = () => {
      done = true;
      onState("offline");
    };
    img.src = probeUrl(tileUrl, map);
    return () => {
      if (!done) img.src = "";
    };
  }, [map, tileUrl, onState, probe]);
  return (
    <>
      {reachable && (
        <TileLayer
          url={tileUrl}
          attribution={props.config.tileAttribution}
          maxZoom={props.config.maxZoom}
          eventHandlers={{
            tileload: () => onState("tiles"),
            tileerror: () => onState((s) => (s === "tiles" ? s : "offline")),
          }}
        />
      )}
      {props.state === "offline" && (
        <OfflineNote
          onRetry={() => {
            onState("loading");
            setProbe((n) => n + 1);
          }}
        />
      )}
    </>
  );
}

/** The URL of the tile under the view's centre ({s} as the first subdomain, {r} as standard resolution). */
function probeUrl(template: string, map: L.Map): string {
  const z = Math.round(map.getZoom());
  const p = map.project(map.getCenter(), z).divideBy(256).floor();
  const n = 2 ** z;
  return L.Util.template(template, { z, x: ((p.x % n) + n) % n, y: p.y, s: "a", r: "" });
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

function OfflineNote(props: { onRetry?: () => void }) {
  return (
    <div className="basemap-note" role="status">
      Map tiles unavailable: showing the built-in offline map
      {props.onRetry && (
        <button type="button" className="link" onClick={props.onRetry}>
          try again
        </button>
      )}
    </div>
  );
}
