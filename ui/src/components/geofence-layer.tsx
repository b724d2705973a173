import type L from "leaflet";
import { useEffect } from "react";
import { Polygon, Popup } from "react-leaflet";
import type { GeofenceFeature } from "../api.ts";
import { area, dateTime } from "../format.ts";
import { type Polygon as GeoPolygon, latLngsFromPolygon, polygonArea } from "../geojson.ts";
import type { Geofences } from "../use-geofences.ts";

/** Saved geofences on the map, each with a details popup; the one being edited gets geoman's handles. */
export function GeofenceLayer(props: { g: Geofences }) {
  const { geofences, selectedId, mode, layers } = props.g;
  const editingId = mode.kind === "editing" ? mode.id : undefined;

  useEffect(() => {
    if (editingId === undefined) return;
    const layer = layers.get(editingId);
    layer?.pm.enable({ allowSelfIntersection: false, snappable: false });
    return () => layer?.pm.disable();
  }, [editingId, layers]);

  return (
    <>
      {geofences.map((f) => (
        <GeofenceShape
          key={`${f.id}-${f.properties.version}`}
          f={f}
          selected={f.id === selectedId}
          layers={layers}
        />
      ))}
      {mode.kind === "naming" && <DraftShape polygon={mode.polygon} />}
    </>
  );
}

function GeofenceShape(props: { f: GeofenceFeature; selected: boolean; layers: Map<number, L.Polygon> }) {
  const { f, layers } = props;
  return (
    <Polygon
      positions={latLngsFromPolygon(f.geometry)}
      pathOptions={{
        color: props.selected ? "#ff6f00" : "#6a1b9a",
        weight: props.selected ? 3 : 2,
        fillOpacity: 0.12,
      }}
      ref={(layer) => {
        if (layer) layers.set(f.id, layer);
        else layers.delete(f.id);
      }}
    >
      <Popup>
        <GeofencePopup f={f} />
      </Popup>
    </Polygon>
  );
}

/** What a fleet manager asks of a geofence: its name, shape, size and rule; no database fields. */
function GeofencePopup(props: { f: GeofenceFeature }) {
  const { f } = props;
  const outline = f.geometry.coordinates[0]?.length ?? 1;
  const holes = f.geometry.coordinates.length - 1;
  return (
    <div data-testid="geofence-popup">
      <strong>{f.properties.name}</strong>
      <br />
      Polygon · {outline - 1} corners{holes > 0 ? ` · ${holes} hole${holes > 1 ? "s" : ""}` : ""} ·{" "}
      {area(polygonArea(f.geometry))}
      {f.properties.dwellSeconds > 0 && (
        <>
          <br />
          <span data-testid="geofence-dwell">Dwell before enter: {dwellText(f.properties.dwellSeconds)}</span>
        </>
      )}
      <br />
      Updated {dateTime(f.properties.updatedAt)}
    </div>
  );
}

/** 90 → "1 min 30 s", 3600 → "1 h". */
export function dwellText(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h && `${h} h`, m && `${m} min`, s && `${s} s`].filter(Boolean).join(" ");
}

function DraftShape(props: { polygon: GeoPolygon }) {
  return (
    <Polygon
      positions={latLngsFromPolygon(props.polygon)}
      pathOptions={{ color: "#ff6f00", dashArray: "6 4", fillOpacity: 0.1 }}
    />
  );
}
