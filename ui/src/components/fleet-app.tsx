import L from "leaflet";
import { type MouseEvent, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, type LivePosition, type Session, type UiConfig } from "../api.ts";
import { useDisplaySettings, zoneOf } from "../display-settings.ts";
import { setDisplay, speed, timeAgo } from "../format.ts";
import { readMapHash } from "../map-hash.ts";
import { permissionsOf } from "../permissions.ts";
import { useGeofences } from "../use-geofences.ts";
import type { BBox } from "../use-live-fleet.ts";
import { useLiveFleet } from "../use-live-fleet.ts";
import { useUnseen } from "../use-unseen.ts";
import { useVehicles } from "../use-vehicles.ts";
import {
  isLastKnown,
  STATE_LABELS,
  STATES,
  type StateRule,
  stateOf,
  type VehicleState,
} from "../vehicle-state.ts";
import { AlertToasts } from "./alert-toasts.tsx";
import { AlertsPanel, type AlertView } from "./alerts-panel.tsx";
import { AuditLog } from "./audit-log.tsx";
import { ConnectionBadge } from "./connection-badge.tsx";
import { EventsView } from "./events-view.tsx";
import { FleetLayer } from "./fleet-layer.tsx";
import { GeofenceDraw } from "./geofence-draw.tsx";
import { GeofenceLayer } from "./geofence-layer.tsx";
import { GeofencePanel } from "./geofence-panel.tsx";
import { GroupsAdmin } from "./groups-admin.tsx";
import { HistoryPanel } from "./history-panel.tsx";
import { MapLegend } from "./map-legend.tsx";
import { MapView } from "./map-view.tsx";
import { People } from "./people.tsx";
import { ReconnectBanner } from "./reconnect-banner.tsx";
import { ReportsView } from "./reports-view.tsx";
import { SettingsMenu } from "./settings-menu.tsx";
import { TabButtons } from "./tab-buttons.tsx";
import { type Track, TrackLayer } from "./track-layer.tsx";
import { VehicleDetails } from "./vehicle-details.tsx";
import { titleOf, VehicleList } from "./vehicle-list.tsx";
import { VehiclesAdmin } from "./vehicles-admin.tsx";

const TABS = [
  "vehicles",
  "history",
  "geofences",
  "reports",
  "events",
  "alerts",
  "manage",
  "people",
  "groups",
  "audit",
] as const;
type Tab = (typeof TABS)[number];
/** vehicles-admin.tsx shows every role the registry (its write controls to operators and admins) */
const ADMIN_ONLY: ReadonlySet<Tab> = new Set(["people", "groups", "audit"]);
/** tables too wide for the sidebar: shown over the map's area (the map stays, hidden, as it was) */
const WIDE: ReadonlySet<Tab> = new Set(["reports", "events", "audit"]);

const DEFAULT_CONFIG: UiConfig = {
  tileUrl: "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
  tileFormat: "xyz",
  tileAttribution: "© OpenStreetMap contributors",
  maxZoom: 19,
  staleAfterSeconds: 300,
  fleetTimeZone: "Asia/Dubai",
  movingSpeedKmh: 5,
  gapSeconds: 600,
};

/**
 * The logged-in page: the map on the right, one panel at a time on the left; on a phone the map
 * first and the panels in a bottom sheet (styles.css). A skip link leads to the map; Escape
 * closes the vehicle details.
 */
export function FleetApp(props: { session: Session; onLogout: () => void; onAuthLost: () => void }) {
  const [config, setConfig] = useState<UiConfig | undefined>();
  const [map, setMap] = useState<L.Map | null>(null);
  const [bbox, setBBox] = useState<BBox | null>(null);
  const [tab, setTab] = useState<Tab>("vehicles");
  const [alertView, setAlertView] = useState<AlertView>("inbox");
  const [selectedId, setSelectedId] = useState<string | undefined>();
  const [follow, setFollow] = useState(true);
  const [sheetOpen, setSheetOpen] = useState(true);
  const [track, setTrack] = useState<Track | undefined>();
  const [settings, setSettings] = useDisplaySettings();
  const live = useLiveFleet(bbox, props.onAuthLost);
  const fleet = useVehicles(live.store);
  const geofences = useGeofences();
  const can = permissionsOf(props.session.role);
  const unseenEvents = useUnseen(live.events, tab === "events");

  useEffect(() => {
    api
      .config()
      .then(setConfig)
      .catch(() => setConfig(DEFAULT_CONFIG));
  }, []);

  const cfg = config ?? DEFAULT_CONFIG;
  // every panel formats times and speeds alike (format.ts); set before the children render
  setDisplay({ timeZone: zoneOf(settings, cfg.fleetTimeZone), units: settings.units });
  const rule = useMemo<StateRule>(
    () => ({ staleMs: cfg.staleAfterSeconds * 1000, movingKmh: cfg.movingSpeedKmh }),
    [cfg.staleAfterSeconds, cfg.movingSpeedKmh],
  );

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
      setFollow(true);
      setTab("vehicles");
      setSheetOpen(true);
      const p = live.store.positions.get(id) ?? fleet.vehicles.find((v) => v.id === id)?.position;
      if (map && p) map.flyTo([p.lat, p.lng], Math.max(map.getZoom(), 14), { duration: 0.8 });
    },
    [map, live.store, fleet.vehicles],
  );

  const selected = fleet.vehicles.find((v) => v.id === selectedId);
  const close = useCallback(() => setSelectedId(undefined), []);
  useEffect(() => {
    if (!selectedId) return;
    const onKey = (e: KeyboardEvent) => {
      // Escape also ends a polygon being drawn (geoman): that one is not for the details
      if (e.key === "Escape" && !map?.pm?.globalDrawModeEnabled()) close();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [selectedId, close, map]);

  const presence = useMemo(() => new Map(fleet.vehicles.map((v) => [v.id, v.online])), [fleet.vehicles]);
  const online = useCallback((id: string) => presence.get(id), [presence]);
  const names = useMemo(() => new Map(fleet.vehicles.map((v) => [v.id, titleOf(v)])), [fleet.vehicles]);
  const describe = useCallback(
    (p: LivePosition, now: number) => {
      const t = names.get(p.vehicleId) ?? { title: p.vehicleId, sub: undefined };
      const state = stateOf(p, now, rule, presence.get(p.vehicleId));
      const what = isLastKnown(state) ? `last seen ${timeAgo(p.recordedAt, now)}` : speed(p.speed ?? 0);
      return {
        label: t.title,
        tooltip: `${t.title}${t.sub ? ` (${t.sub})` : ""} · ${STATE_LABELS[state]} · ${what}`,
      };
    },
    [names, rule, presence],
  );
  const counts = useMemo(() => {
    const now = Date.now();
    const c = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<VehicleState, number>;
    for (const v of fleet.vehicles) c[stateOf(v.position, now, rule, v.online)]++;
    return c;
  }, [fleet.vehicles, rule]);

  return (
    <div className={`layout${sheetOpen ? " sheet-open" : ""}${WIDE.has(tab) ? " wide" : ""}`}>
      {/* biome-ignore lint/a11y/useValidAnchor: a skip link is a link (a fragment link without JS); the handler keeps the map view in the URL */}
      <a className="skip-link" href="#map" onClick={focusMap}>
        Skip to map
      </a>
      <header className="topbar">
        <strong>Logitrack</strong>
        <ConnectionBadge state={live.state} retryAt={live.retryAt} />
        <span className="spacer" />
        <SettingsMenu settings={settings} fleetTimeZone={cfg.fleetTimeZone} onChange={setSettings} />
        <span className="who">
          {props.session.name} ({props.session.role})
        </span>
        <button type="button" onClick={props.onLogout}>
          Log out
        </button>
      </header>
      <aside className="sidebar" aria-label="panels">
        <button
          type="button"
          className="sheet-handle"
          aria-expanded={sheetOpen}
          onClick={() => setSheetOpen((o) => !o)}
        >
          {sheetOpen ? "Hide panel" : "Show list and panels"}
        </button>
        <TabButtons
          tabs={TABS.filter((t) => can.admin || !ADMIN_ONLY.has(t))}
          active={tab}
          onSelect={(t) => {
            setTab(t);
            setSheetOpen(true);
          }}
          label="panels"
          className="tabs"
          badges={{ events: unseenEvents }}
        />
        <div className={tab === "vehicles" ? "panel panel-vehicles" : "panel"}>
          {tab === "vehicles" && (
            <>
              {selected && (
                <VehicleDetails
                  vehicle={selected}
                  canEdit={can.operate}
                  rule={rule}
                  follow={follow}
                  onFollowChange={setFollow}
                  onClose={close}
                  onSaved={fleet.replace}
                />
              )}
              <VehicleList
                vehicles={fleet.vehicles}
                error={fleet.error}
                selectedId={selectedId}
                rule={rule}
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
              gapSeconds={cfg.gapSeconds}
            />
          )}
          {tab === "geofences" && <GeofencePanel g={geofences} map={map} canEdit={can.operate} />}
          {tab === "alerts" && (
            <AlertsPanel
              view={alertView}
              onView={setAlertView}
              can={can}
              vehicles={fleet.vehicles}
              geofences={geofences.geofences}
              live={live.alerts}
              onSelectVehicle={select}
            />
          )}
          {tab === "manage" && (
            <VehiclesAdmin
              vehicles={fleet.vehicles}
              can={can}
              onChanged={() => void fleet.reload()}
              onSaved={fleet.replace}
            />
          )}
          {tab === "people" && can.admin && <People session={props.session} onLoggedOut={props.onAuthLost} />}
          {tab === "groups" && can.admin && <GroupsAdmin vehicles={fleet.vehicles} />}
        </div>
      </aside>
      <main className="map-area">
        <ReconnectBanner state={live.state} retryAt={live.retryAt} onRetry={live.retryNow} />
        {config && (
          <MapView config={config} onMap={setMap} onBBox={setBBox}>
            <FleetLayer
              store={live.store}
              rule={rule}
              selectedId={selectedId}
              onSelect={select}
              describe={describe}
              online={online}
              follow={follow && tab === "vehicles" && selectedId !== undefined}
              onFollowChange={setFollow}
            />
            <GeofenceLayer g={geofences} />
            <GeofenceDraw
              drawing={tab === "geofences" && geofences.mode.kind === "drawing"}
              canEdit={can.operate}
              onDrawn={(polygon) => {
                setTab("geofences");
                geofences.setMode({ kind: "naming", polygon });
              }}
            />
            {tab === "history" && track && <TrackLayer track={track} />}
          </MapView>
        )}
        <MapLegend counts={counts} />
        {tab === "audit" && can.admin && <AuditLog />}
        {tab === "reports" && <ReportsView vehicles={fleet.vehicles} fleetTimeZone={cfg.fleetTimeZone} />}
        {tab === "events" && (
          <EventsView
            vehicles={fleet.vehicles}
            geofences={geofences.geofences}
            live={live.events}
            onSelectVehicle={select}
          />
        )}
      </main>
      <AlertToasts
        alerts={live.alerts}
        onShow={() => {
          setAlertView("inbox");
          setTab("alerts");
          setSheetOpen(true);
        }}
      />
    </div>
  );
}

/** The skip link moves keyboard focus onto the map (Leaflet's container takes arrow keys and +/-). */
function focusMap(e: MouseEvent<HTMLAnchorElement>): void {
  const el = document.getElementById("map");
  if (!el) return;
  e.preventDefault();
  el.focus();
}
