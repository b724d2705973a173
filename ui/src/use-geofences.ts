import type L from "leaflet";
import { useCallback, useEffect, useRef, useState } from "react";
import { api, type GeofenceFeature } from "./api.ts";
import type { Polygon } from "./geojson.ts";

/** What the geofence editor is doing: shared by the sidebar panel and the map-side layers. */
export type GeofenceMode =
  | { kind: "idle" }
  | { kind: "drawing" }
  /** a polygon drawn and not yet saved */
  | { kind: "naming"; polygon: Polygon }
  | { kind: "editing"; id: number };

export function useGeofences() {
  const [geofences, setGeofences] = useState<GeofenceFeature[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [selectedId, setSelectedId] = useState<number | undefined>();
  const [mode, setMode] = useState<GeofenceMode>({ kind: "idle" });
  /** the Leaflet polygon drawn for each geofence (GeofenceLayer fills it; editing reads it) */
  const layers = useRef(new Map<number, L.Polygon>());

  const reload = useCallback(async () => {
    try {
      setGeofences(await api.geofences());
      setError(undefined);
    } catch (err) {
      setError(String(err));
    }
  }, []);

  useEffect(() => {
    void reload();
  }, [reload]);

  return { geofences, error, reload, selectedId, setSelectedId, mode, setMode, layers: layers.current };
}

export type Geofences = ReturnType<typeof useGeofences>;
