import { useEffect, useRef } from "react";
import { useMap } from "react-leaflet";
import type { LivePosition } from "../api.ts";
import { FleetCanvasLayer, type FleetCanvasOptions } from "../fleet-canvas-layer.ts";
import type { FleetStore } from "../fleet-store.ts";
import type { StateRule } from "../vehicle-state.ts";

declare global {
  interface Window {
    /** read-only view of what the canvas drew, for end-to-end tests and debugging */
    logitrack?: {
      markers: () => Record<string, [number, number]>;
      /** the state each vehicle's marker was last drawn in */
      states: () => Record<string, string>;
      draws: () => number;
      updates: () => number;
      mode: () => "markers" | "clusters";
    };
  }
}

/**
 * Puts the canvas marker layer on the map (through useMap), keeps its selection in sync, and
 * in follow mode keeps the selected vehicle in the middle of the map as its fixes arrive
 * (dragging the map ends following).
 */
export function FleetLayer(props: {
  store: FleetStore;
  rule: StateRule;
  selectedId: string | undefined;
  onSelect: (id: string) => void;
  describe: FleetCanvasOptions["describe"];
  online: FleetCanvasOptions["online"];
  follow: boolean;
  onFollowChange: (follow: boolean) => void;
}) {
  const map = useMap();
  const layerRef = useRef<FleetCanvasLayer | undefined>(undefined);
  const latest = useRef(props);
  latest.current = props;
  const { staleMs, movingKmh } = props.rule;

  useEffect(() => {
    const layer = new FleetCanvasLayer(props.store, {
      staleMs,
      movingKmh,
      // while a polygon is being drawn, a click places a vertex; it does not pick a vehicle
      onSelect: (id) => {
        if (!map.pm?.globalDrawModeEnabled()) latest.current.onSelect(id);
      },
      describe: (p, now) => latest.current.describe(p, now),
      online: (id) => latest.current.online(id),
    });
    layer.addTo(map);
    layer.setSelected(latest.current.selectedId);
    layerRef.current = layer;
    window.logitrack = {
      markers: () => Object.fromEntries(layer.drawn),
      states: () => Object.fromEntries(layer.states),
      draws: () => layer.drawCount,
      updates: () => props.store.applied,
      mode: () => layer.mode,
    };
    return () => {
      layer.remove();
      layerRef.current = undefined;
      delete window.logitrack;
    };
  }, [map, props.store, staleMs, movingKmh]);

  useEffect(() => {
    layerRef.current?.setSelected(props.selectedId);
  }, [props.selectedId]);

  const { follow, selectedId, store } = props;
  useEffect(() => {
    if (!follow || !selectedId) return;
    let last: LivePosition | undefined;
    // selecting flies to the vehicle (fleet-app.tsx): follow its next fixes, not that flight
    const since = Date.now();
    let later: ReturnType<typeof setTimeout> | undefined;
    const centre = () => {
      const wait = since + 1000 - Date.now();
      if (wait > 0) {
        clearTimeout(later);
        later = setTimeout(centre, wait);
        return;
      }
      const p = store.positions.get(selectedId);
      if (!p || p === last) return;
      last = p;
      const off = map.latLngToContainerPoint([p.lat, p.lng]).distanceTo(map.getSize().divideBy(2));
      if (off > 1) map.panTo([p.lat, p.lng], { animate: off < 300, duration: 0.4 });
    };
    const unsubscribe = store.subscribe(centre);
    const stop = () => latest.current.onFollowChange(false);
    map.on("dragstart", stop);
    return () => {
      unsubscribe();
      clearTimeout(later);
      map.off("dragstart", stop);
    };
  }, [map, store, follow, selectedId]);

  return null;
}
