import type L from "leaflet";
import { useEffect } from "react";
import { Polygon, Popup } from "react-leaflet";
import type { GeofenceFeature } from "../api.ts";
import { dateTime } from "../format.ts";
import { type Polygon as GeoPolygon, latLngsFromPolygon } from "../geojson.ts";
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
        <div data-testid="geofence-popup">
          <strong>{f.properties.name}</strong>
          <br />
          id {f.id} · version {f.properties.version}
          <br />
          dwell before enter: {f.properties.dwellSeconds}s
          <br />
          {f.geometry.coordinates[0]?.length ?? 0} vertices (closed ring)
          <br />
          updated {dateTime(f.properties.updatedAt)}
        </div>
      </Popup>
    </Polygon>
  );
}

function DraftShape(props: { polygon: GeoPolygon }) {
  return (
    <Polygon
      positions={latLngsFromPolygon(props.polygon)}
      pathOptions={{ color: "#ff6f00", dashArray: "6 4", fillOpacity: 0.1 }}
    />
  );
}
