import "@geoman-io/leaflet-geoman-free";
import L from "leaflet";
import { useEffect, useRef } from "react";
import { useMap } from "react-leaflet";
import { type Polygon, polygonFromLatLngs } from "../geojson.ts";

/**
 * leaflet-geoman on the react-leaflet map, through useMap(). React StrictMode mounts effects
 * twice in development: the toolbar is added only if it is not already there, every listener
 * added here is removed in the cleanup, so a second mount finds the map as the first left it.
 */
export function GeofenceDraw(props: { drawing: boolean; canEdit: boolean; onDrawn: (p: Polygon) => void }) {
  const map = useMap();
  const onDrawn = useRef(props.onDrawn);
  onDrawn.current = props.onDrawn;

  useEffect(() => {
    if (!props.canEdit) return;
    if (!map.pm.controlsVisible()) {
      map.pm.addControls({
        position: "topleft",
        drawPolygon: true,
        drawMarker: false,
        drawCircleMarker: false,
        drawPolyline: false,
        drawRectangle: false,
        drawCircle: false,
        drawText: false,
        editMode: false,
        dragMode: false,
        cutPolygon: false,
        removalMode: false,
        rotateMode: false,
      });
      // geoman titles the button's container, not its role="button" link: name the link itself
      const button = map.getContainer().querySelector(".leaflet-pm-icon-polygon")?.closest("a");
      button?.setAttribute("aria-label", "Draw a geofence on the map");
    }
    map.pm.setGlobalOptions({ allowSelfIntersection: false, snappable: false });
    const onCreate = (e: { layer: L.Layer }) => {
      const layer = e.layer;
      // the drawn layer is geoman's: hand over its shape and remove it; saved geofences are drawn by GeofenceLayer
      if (layer instanceof L.Polygon) {
        const rings = layer.getLatLngs() as L.LatLng[][];
        onDrawn.current(polygonFromLatLngs(rings));
      }
      layer.remove();
    };
    map.on("pm:create", onCreate);
    return () => {
      map.off("pm:create", onCreate);
      map.pm.disableDraw();
      map.pm.removeControls();
    };
  }, [map, props.canEdit]);

  useEffect(() => {
    if (!props.canEdit) return;
    if (props.drawing && !map.pm.globalDrawModeEnabled()) map.pm.enableDraw("Polygon");
    if (!props.drawing && map.pm.globalDrawModeEnabled()) map.pm.disableDraw();
  }, [map, props.drawing, props.canEdit]);

  return null;
}
