import type { Polygon } from "./geojson.ts";

/**
 * The HTTP API as the UI uses it. Same origin: the session cookie (HttpOnly, SameSite=Strict)
 * rides along by itself, so no token is ever held in JS, a URL or localStorage.
 */
export interface LivePosition {
  vehicleId: string;
  /** epoch ms */
  recordedAt: number;
  lat: number;
  lng: number;
  /** km/h */
  speed?: number;
  heading?: number;
  altitude?: number;
  accuracy?: number;
  ignition?: boolean;
  odometer?: number;
  /** device-specific values, e.g. a Teltonika device's IO elements (io{id}) and externalVoltage (V) */
  attributes?: Record<string, number | string | boolean>;
  receivedAt: number;
  /** the API's word (STALE_AFTER_SECONDS) when it was sent: the fix is last known, not current */
  stale?: boolean;
}

export type VehicleStatus = "active" | "inactive" | "maintenance";

export interface Vehicle {
  id: string;
  name: string | null;
  plate: string | null;
  imei: string | null;
  status: VehicleStatus;
  version: number;
  createdAt: string;
  updatedAt: string;
  /** holds an MQTT session (after the broker's grace); null: never connected over MQTT */
  online: boolean | null;
  onlineSince: string | null;
  lastSeenAt: string | null;
  live: LivePosition | null;
}

/** A presence change on /ws (core/events.ts PresenceMessage). */
export interface PresenceEvent {
  type: "presence";
  id: number;
  vehicleId: string;
  kind: "online" | "offline";
  at: number;
}

export interface Session {
  name: string;
  role: "admin" | "operator" | "viewer";
}

export interface UiConfig {
  /** MAP_TILE_URL: an {z}/{x}/{y} template, or a .pmtiles file (tileFormat) */
  tileUrl: string;
  tileFormat: "xyz" | "pmtiles";
  tileAttribution: string;
  maxZoom: number;
  /** a fix older than this is last known (STALE_AFTER_SECONDS) */
  staleAfterSeconds: number;
  /** FLEET_TZ: the zone of the fleet's day (reports) and the default zone of every time shown */
  fleetTimeZone: string;
  /** MOVING_SPEED_KMH: from this speed a vehicle is moving (as the worker's trips count it) */
  movingSpeedKmh: number;
  /** TRIP_GAP_SECONDS: a longer silence between two fixes is a gap in a track, not a road driven */
  gapSeconds: number;
}

export interface GeofenceFeature {
  type: "Feature";
  id: number;
  geometry: Polygon;
  properties: { name: string; dwellSeconds: number; version: number; createdAt: string; updatedAt: string };
}

export interface TrackFeature {
  type: "Feature";
  geometry: { type: "LineString"; coordinates: number[][] } | { type: "Point"; coordinates: number[] } | null;
  properties: {
    count: number;
    coordinateProperties: {
      times: string[];
      speed: (number | null)[];
      heading: (number | null)[];
      ignition: (boolean | null)[];
      odometer: (number | null)[];
    };
  };
}

/** A geofence enter/exit: GET /api/events (times ISO-8601) and WS `events` (times epoch ms). */
export interface FleetEvent {
  type: "geofence";
  id: number;
  vehicleId: string;
  geofenceId: number;
  geofenceName: string;
  kind: "enter" | "exit";
  at: string | number;
  confirmedAt: string | number;
  lat: number;
  lng: number;
  /** WS only: derived by a replay after late fixes */
  late?: boolean;
  /** WS only: a replay proved this earlier event false; it was deleted */
  retracted?: boolean;
}

export interface Trip {
  id: number;
  vehicleId: string;
  startedAt: string;
  endedAt: string;
  durationS: number;
  distanceM: number;
  maxSpeedKmh: number | null;
  avgSpeedKmh: number | null;
  start: { lat: number; lng: number };
  end: { lat: number; lng: number };
}

export interface Stop {
  id: number;
  vehicleId: string;
  startedAt: string;
  endedAt: string;
  durationS: number;
  lat: number;
  lng: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export class ApiError extends Error {
  override name = "ApiError";
  /** the API's stable error code (api/error-catalogue.ts), e.g. `E_VERSION_CONFLICT`; absent when no API answered */
  readonly code: string | undefined;
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
    this.code = typeof body.code === "string" ? body.code : undefined;
  }
}

/** Called on any 401, so the app can show the login page again. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

/** One API call; shared by the other API modules of the UI (alerts-api.ts, admin-api.ts). */
export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: HeadersInit = {},
): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? null : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const data = text ? (safeJson(text) ?? { message: text }) : {};
  if (!res.ok) {
    if (res.status === 401 && !path.startsWith("/api/auth/")) onUnauthorized();
    const msg = (data as { message?: string }).message ?? `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, msg, data as Record<string, unknown>);
  }
  return data as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A query string without the empty parameters. */
export const q = (params: Record<string, string | number | undefined>) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") s.set(k, String(v));
  return s.toString();
};

export const api = {
  login: (username: string, password: string) =>
    request<Session>("POST", "/api/auth/login", { username, password }),
  /** the first admin token `npm start` prints: exchanged once for the session cookie, never kept */
  loginWithToken: (token: string) => request<Session>("POST", "/api/auth/login", { token }),
  logout: () => request<void>("POST", "/api/auth/logout"),
  me: () => request<Session>("GET", "/api/auth/me"),
  /** who is logged in, or null: a 200 either way (no failed request in the console) */
  session: () => request<{ session: Session | null }>("GET", "/api/auth/session").then((x) => x.session),
  config: () => request<UiConfig>("GET", "/api/ui/config"),

  /** Every vehicle, following the cursor. */
  async vehicles(): Promise<Vehicle[]> {
    const out: Vehicle[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Vehicle[]; nextCursor: string | null } = await request(
        "GET",
        `/api/vehicles?${q({ limit: 1000, cursor: cursor ?? undefined })}`,
      );
      out.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  },
  vehicle: (id: string) => request<Vehicle>("GET", `/api/vehicles/${encodeURIComponent(id)}`),
  patchVehicle: (id: string, version: number, patch: Partial<Pick<Vehicle, "name" | "plate" | "status">>) =>
    request<Vehicle>("PATCH", `/api/vehicles/${encodeURIComponent(id)}`, patch, {
      "if-match": String(version),
    }),

  trackUrl: (id: string, from: Date, to: Date, format: "geojson" | "gpx" | "csv") =>
    `/api/vehicles/${encodeURIComponent(id)}/track?${q({ from: from.toISOString(), to: to.toISOString(), format })}`,
  track: (id: string, from: Date, to: Date) =>
    request<TrackFeature>("GET", api.trackUrl(id, from, to, "geojson")),

  async geofences(): Promise<GeofenceFeature[]> {
    const out: GeofenceFeature[] = [];
    let cursor: string | null = null;
    do {
      const page: { features: GeofenceFeature[]; nextCursor: string | null } = await request(
        "GET",
        `/api/geofences?${q({ limit: 1000, cursor: cursor ?? undefined })}`,
      );
      out.push(...page.features);
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  },
  createGeofence: (name: string, geometry: Polygon, dwellSeconds = 0) =>
    request<GeofenceFeature>("POST", "/api/geofences", {
      type: "Feature",
      geometry,
      properties: { name, dwellSeconds },
    }),
  updateGeofence: (g: GeofenceFeature, name: string, geometry: Polygon, dwellSeconds: number) =>
    request<GeofenceFeature>(
      "PUT",
      `/api/geofences/${g.id}`,
      { type: "Feature", geometry, properties: { name, dwellSeconds } },
      { "if-match": String(g.properties.version) },
    ),
  deleteGeofence: (id: number) => request<void>("DELETE", `/api/geofences/${id}`),
};
