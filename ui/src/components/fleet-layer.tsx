import { useEffect, useRef } from "react";
import { useMap } from "react-leaflet";
import { FleetCanvasLayer } from "../fleet-canvas-layer.ts";
import type { FleetStore } from "../fleet-store.ts";

declare global {
  interface Window {
    /** read-only view of what the canvas drew, for end-to-end tests and debugging */
    logitrack?: {
      markers: () => Record<string, [number, number]>;
      draws: () => number;
      updates: () => number;
    };
  }
}

/** Puts the canvas marker layer on the map (through useMap) and keeps its selection in sync. */
export function FleetLayer(props: {
  store: FleetStore;
  staleMs: number;
  selectedId: string | undefined;
  onSelect: (id: string) => void;
}) {
  const map = useMap();
  const layerRef = useRef<FleetCanvasLayer | undefined>(undefined);
  const onSelect = useRef(props.onSelect);
  onSelect.current = props.onSelect;

  useEffect(() => {
    const layer = new FleetCanvasLayer(props.store, {
      staleMs: props.staleMs,
      // while a polygon is being drawn, a click places a vertex; it does not pick a vehicle
      onSelect: (id) => {
        if (!map.pm?.globalDrawModeEnabled()) onSelect.current(id);
      },
    });
    layer.addTo(map);
    layerRef.current = layer;
    window.logitrack = {
      markers: () => Object.fromEntries(layer.drawn),
      draws: () => layer.drawCount,
      updates: () => props.store.applied,
    };
    return () => {
      layer.remove();
      layerRef.current = undefined;
      delete window.logitrack;
    };
  }, [map, props.store, props.staleMs]);

  useEffect(() => {
    layerRef.current?.setSelected(props.selectedId);
  }, [props.selectedId]);

  return null;
}
