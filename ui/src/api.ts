import { latLngOf, type Polygon } from "./geojson.ts";

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
  receivedAt: number;
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
  live: LivePosition | null;
}

export interface Session {
  name: string;
  role: "admin" | "viewer";
}

export interface UiConfig {
  tileUrl: string;
  tileAttribution: string;
  staleMinutes: number;
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

/** A geofence enter/exit or other vehicle event (WS `events` and GET /api/events). */
export interface FleetEvent {
  id?: number | string;
  vehicleId: string;
  type?: string;
  kind?: string;
  geofenceId?: number;
  geofenceName?: string;
  at?: string | number;
  recordedAt?: string | number;
  lat?: number;
  lng?: number;
}

/** GET /api/analytics/daily: one row per vehicle (shape per ARCHITECTURE.md's description). */
export interface DailyRow {
  vehicleId: string;
  distanceKm: number;
  avgSpeedKmh: number | null;
  maxSpeedKmh: number | null;
  movingSeconds: number;
  idleSeconds: number;
}

export interface Trip {
  vehicleId?: string;
  startAt: string;
  endAt: string;
  distanceKm?: number;
  maxSpeedKmh?: number;
  startLat?: number;
  startLng?: number;
  endLat?: number;
  endLng?: number;
}

export interface Stop {
  vehicleId?: string;
  startAt: string;
  endAt: string;
  durationSeconds?: number;
  lat?: number;
  lng?: number;
}

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Called on any 401, so the app can show the login page again. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

async function request<T>(
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

const q = (params: Record<string, string | number | undefined>) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") s.set(k, String(v));
  return s.toString();
};

export const api = {
  login: (username: string, password: string) =>
    request<Session>("POST", "/api/auth/login", { username, password }),
  logout: () => request<void>("POST", "/api/auth/logout"),
  me: () => request<Session>("GET", "/api/auth/me"),
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
  updateGeofence: (g: GeofenceFeature, name: string, geometry: Polygon) =>
    request<GeofenceFeature>(
      "PUT",
      `/api/geofences/${g.id}`,
      { type: "Feature", geometry, properties: { name, dwellSeconds: g.properties.dwellSeconds } },
      { "if-match": String(g.properties.version) },
    ),
  deleteGeofence: (id: number) => request<void>("DELETE", `/api/geofences/${id}`),

  events: (from: Date, to: Date) =>
    request<{ items: FleetEvent[] } | FleetEvent[]>(
      "GET",
      `/api/events?${q({ from: from.toISOString(), to: to.toISOString() })}`,
    ).then(itemsOf),
  daily: (date: string) =>
    request<Listish>("GET", `/api/analytics/daily?${q({ date })}`).then((r) => itemsOf(r).map(toDailyRow)),
  trips: (vehicleId: string, from: Date, to: Date) =>
    request<Listish>(
      "GET",
      `/api/reports/trips?${q({ vehicleId, from: from.toISOString(), to: to.toISOString() })}`,
    ).then((r) => itemsOf(r).map(toTrip)),
  stops: (vehicleId: string, from: Date, to: Date) =>
    request<Listish>(
      "GET",
      `/api/reports/stops?${q({ vehicleId, from: from.toISOString(), to: to.toISOString() })}`,
    ).then((r) => itemsOf(r).map(toStop)),
};

type Row = Record<string, unknown>;
type Listish = { items: Row[] } | Row[];

/**
 * The events and reports routes were written alongside this UI: accept a bare array or the
 * API's `{items}` list shape, and metres/kilometres and *At/*edAt names, in this one place.
 */
function itemsOf<T>(r: { items: T[] } | T[]): T[] {
  return Array.isArray(r) ? r : r.items;
}

const numOr = (...vs: unknown[]): number | undefined => vs.find((v): v is number => typeof v === "number");
function km(r: Row): number | undefined {
  const metres = numOr(r.distanceM, r.distance_m);
  return numOr(r.distanceKm, metres === undefined ? undefined : metres / 1000);
}
const str = (...vs: unknown[]) => vs.find((v): v is string => typeof v === "string") ?? "";

function toDailyRow(r: Row): DailyRow {
  return {
    vehicleId: str(r.vehicleId, r.vehicle_id),
    distanceKm: km(r) ?? 0,
    avgSpeedKmh: numOr(r.avgSpeedKmh, r.avg_speed_kmh) ?? null,
    maxSpeedKmh: numOr(r.maxSpeedKmh, r.max_speed_kmh) ?? null,
    movingSeconds: numOr(r.movingSeconds, r.movingS, r.moving_s) ?? 0,
    idleSeconds: numOr(r.idleSeconds, r.idleS, r.idle_s) ?? 0,
  };
}

function toTrip(r: Row): Trip {
  return {
    startAt: str(r.startAt, r.startedAt, r.started_at),
    endAt: str(r.endAt, r.endedAt, r.ended_at),
    distanceKm: km(r),
    maxSpeedKmh: numOr(r.maxSpeedKmh, r.max_speed_kmh),
  };
}

function toStop(r: Row): Stop {
  const startAt = str(r.startAt, r.startedAt, r.started_at);
  const endAt = str(r.endAt, r.endedAt, r.ended_at);
  const coords = (r.location as { coordinates?: number[] } | undefined)?.coordinates;
  const at = coords ? latLngOf(coords) : undefined;
  return {
    startAt,
    endAt,
    durationSeconds:
      numOr(r.durationSeconds, r.durationS) ??
      (new Date(endAt).getTime() - new Date(startAt).getTime()) / 1000,
    lat: numOr(r.lat, at?.[0]),
    lng: numOr(r.lng, at?.[1]),
  };
}
