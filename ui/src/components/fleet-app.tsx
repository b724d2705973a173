import L from "leaflet";
import { useCallback, useEffect, useRef, useState } from "react";
import { api, type Session, type UiConfig } from "../api.ts";
import { readMapHash } from "../map-hash.ts";
import { useGeofences } from "../use-geofences.ts";
import type { BBox } from "../use-live-fleet.ts";
import { useLiveFleet } from "../use-live-fleet.ts";
import { useVehicles } from "../use-vehicles.ts";
import { AlertToasts } from "./alert-toasts.tsx";
import { AlertsPanel, type AlertView } from "./alerts-panel.tsx";
import { ConnectionBadge } from "./connection-badge.tsx";
import { EventsFeed } from "./events-feed.tsx";
import { FleetLayer } from "./fleet-layer.tsx";
import { GeofenceDraw } from "./geofence-draw.tsx";
import { GeofenceLayer } from "./geofence-layer.tsx";
import { GeofencePanel } from "./geofence-panel.tsx";
import { HistoryPanel } from "./history-panel.tsx";
import { MapView } from "./map-view.tsx";
import { People } from "./people.tsx";
import { ReportsPanel } from "./reports-panel.tsx";
import { TabButtons } from "./tab-buttons.tsx";
import { type Track, TrackLayer } from "./track-layer.tsx";
import { VehicleDetails } from "./vehicle-details.tsx";
import { VehicleList } from "./vehicle-list.tsx";
import { VehiclesAdmin } from "./vehicles-admin.tsx";

const TABS = ["vehicles", "history", "geofences", "reports", "events", "alerts", "manage", "people"] as const;
type Tab = (typeof TABS)[number];
/** admin screens: vehicles-admin.tsx (viewers see it without its write controls), people.tsx (admins only) */
const ADMIN_ONLY: ReadonlySet<Tab> = new Set(["people"]);

const DEFAULT_CONFIG: UiConfig = {
  tileUrl: "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
  tileAttribution: "© OpenStreetMap contributors",
  staleAfterSeconds: 300,
};

/** The logged-in page: the map on the right, one panel at a time on the left. */
export function FleetApp(props: { session: Session; onLogout: () => void; onAuthLost: () => void }) {
  const [config, setConfig] = useState<UiConfig | undefined>();
  const [map, setMap] = useState<L.Map | null>(null);
  const [bbox, setBBox] = useState<BBox | null>(null);
  const [tab, setTab] = useState<Tab>("vehicles");
  const [alertView, setAlertView] = useState<AlertView>("inbox");
  const [selectedId, setSelectedId] = useState<string | undefined>();
  const [track, setTrack] = useState<Track | undefined>();
  const live = useLiveFleet(bbox, props.onAuthLost);
  const fleet = useVehicles(live.store);
  const geofences = useGeofences();
  const canEdit = props.session.role === "admin";

  useEffect(() => {
    api
      .config()
      .then(setConfig)
      .catch(() => setConfig(DEFAULT_CONFIG));
  }, []);

  // first load without a view in the URL: show the whole fleet
  const fitted = useRef(readMapHash() !== undefined);
  useEffect(() => {
    if (fitted.current || !map || !fleet.loaded) return;
    fitted.current = true;
    const pts = fleet.vehicles.flatMap((v) => (v.position ? [L.latLng(v.position.lat, v.position.lng)] : []));
    if (pts.length > 0) map.fitBounds(L.latLngBounds(pts), { padding: [40, 40], maxZoom: 15 });
  }, [map, fleet.loaded, fleet.vehicles]);

  const select = useCallback(
    (id: string) => {
      setSelectedId(id);
      setTab("vehicles");
      const p = live.store.positions.get(id) ?? fleet.vehicles.find((v) => v.id === id)?.position;
      if (map && p) map.flyTo([p.lat, p.lng], Math.max(map.getZoom(), 14), { duration: 0.8 });
    },
    [map, live.store, fleet.vehicles],
  );

  const selected = fleet.vehicles.find((v) => v.id === selectedId);
  const staleMs = (config ?? DEFAULT_CONFIG).staleAfterSeconds * 1000;

  return (
    <div className="layout">
      <header className="topbar">
        <strong>Logitrack</strong>
        <ConnectionBadge state={live.state} retryAt={live.retryAt} />
        <span className="spacer" />
        <span>
          {props.session.name} ({props.session.role})
        </span>
        <button type="button" onClick={props.onLogout}>
          Log out
        </button>
      </header>
      <aside className="sidebar">
        <TabButtons
          tabs={TABS.filter((t) => canEdit || !ADMIN_ONLY.has(t))}
          active={tab}
          onSelect={setTab}
          label="panels"
          className="tabs"
        />
        <div className="panel">
          {tab === "vehicles" && (
            <>
              {selected && (
                <VehicleDetails
                  vehicle={selected}
                  canEdit={canEdit}
                  staleMs={staleMs}
                  onClose={() => setSelectedId(undefined)}
                  onSaved={fleet.replace}
                />
              )}
              <VehicleList
                vehicles={fleet.vehicles}
                error={fleet.error}
                selectedId={selectedId}
                staleMs={staleMs}
                onSelect={select}
                map={map}
              />
            </>
          )}
          {tab === "history" && (
            <HistoryPanel
              vehicles={fleet.vehicles}
              initialVehicleId={selectedId}
              map={map}
              track={track}
              onTrack={setTrack}
            />
          )}
          {tab === "geofences" && <GeofencePanel g={geofences} map={map} canEdit={canEdit} />}
          {tab === "reports" && <ReportsPanel vehicles={fleet.vehicles} initialVehicleId={selectedId} />}
          {tab === "events" && <EventsFeed live={live.events} onSelectVehicle={select} />}
          {tab === "alerts" && (
            <AlertsPanel
              view={alertView}
              onView={setAlertView}
              canEdit={canEdit}
              vehicles={fleet.vehicles}
              geofences={geofences.geofences}
              live={live.alerts}
              onSelectVehicle={select}
            />
          )}
          {tab === "manage" && (
            <VehiclesAdmin
              vehicles={fleet.vehicles}
              canEdit={canEdit}
              onChanged={() => void fleet.reload()}
              onSaved={fleet.replace}
            />
          )}
          {tab === "people" && canEdit && <People session={props.session} onLoggedOut={props.onAuthLost} />}
        </div>
      </aside>
      <section className="map-area">
        {config && (
          <MapView config={config} onMap={setMap} onBBox={setBBox}>
            <FleetLayer store={live.store} staleMs={staleMs} selectedId={selectedId} onSelect={select} />
            <GeofenceLayer g={geofences} />
            <GeofenceDraw
              drawing={tab === "geofences" && geofences.mode.kind === "drawing"}
              canEdit={canEdit}
              onDrawn={(polygon) => {
                setTab("geofences");
                geofences.setMode({ kind: "naming", polygon });
              }}
            />
            {tab === "history" && track && <TrackLayer track={track} />}
          </MapView>
        )}
      </section>
      <AlertToasts
        alerts={live.alerts}
        onShow={() => {
          setAlertView("inbox");
          setTab("alerts");
        }}
      />
    </div>
  );
}
