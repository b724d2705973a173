import { ApiError, request, type Vehicle } from "./api.ts";

/** The admin screens' calls: vehicles (add, rotate, remove, commands, import), people and access. */

export interface DeviceConnection {
  kind: string;
  label: string;
  url: string;
  settings: { name: string; value: string }[];
}

export interface VehicleSecret {
  /** deviceKey: the Traccar Client (OsmAnd) device identifier */
  credentials: { username: string; password: string; deviceKey?: string };
  mqtt: { port: number; topic: string; example: string };
  connections: DeviceConnection[];
}

export interface Command {
  id: string;
  vehicleId: string;
  payload: unknown;
  status: "pending" | "delivered" | "acked" | "failed";
  createdAt: string;
  deliveredAt: string | null;
  ackedAt: string | null;
  response: unknown;
}

export interface Rejected {
  id: number;
  topic: string;
  payload: string;
  reason: string;
  detail: string;
  receivedAt: string;
}

export interface Anomaly {
  id: number;
  kind: "late" | "duplicate" | "skewed";
  recordedAt: string;
  receivedAt: string;
  detail: string;
}

export interface ImportRow {
  line: number;
  id: string;
  result: "created" | "valid" | "invalid" | "duplicate" | "exists";
  error?: string;
  credentials?: { username: string; password: string };
}

export interface ImportAnswer {
  dryRun: boolean;
  rows: number;
  created: number;
  valid: number;
  failed: number;
  items: ImportRow[];
}

export type Role = "admin" | "operator" | "viewer";

export interface UserRow {
  id: number;
  username: string;
  role: Role;
  /** sees every vehicle; else those of groupIds (admins always see all) */
  allVehicles: boolean;
  groupIds: number[];
  disabled: boolean;
  createdAt: string;
  sessions: number;
}

export interface TokenRow {
  id: number;
  name: string;
  role: Role;
  createdAt: string;
  revokedAt: string | null;
  /** null: never expires */
  expiresAt: string | null;
  /** sees every vehicle; else those of groupIds (the API's grant) */
  allVehicles: boolean;
  groupIds: number[];
}

export interface IntegrationRow {
  name: string;
  createdAt: string;
}

const enc = encodeURIComponent;
const items = <T>(p: Promise<{ items: T[] }>) => p.then((x) => x.items);

export const adminApi = {
  addVehicle: (v: { id: string; name?: string; plate?: string; imei?: string; groupIds?: number[] }) =>
    request<Vehicle & VehicleSecret>("POST", "/api/vehicles", v),
  rotate: (id: string) => request<VehicleSecret>("POST", `/api/vehicles/${enc(id)}/credentials`),
  removeVehicle: (id: string) => request<void>("DELETE", `/api/vehicles/${enc(id)}`),
  sendCommand: (id: string, payload: unknown) =>
    request<Command>("POST", `/api/vehicles/${enc(id)}/commands`, { payload }),
  commands: (id: string) =>
    items(request<{ items: Command[] }>("GET", `/api/vehicles/${enc(id)}/commands?limit=20`)),
  rejected: (id: string) =>
    items(request<{ items: Rejected[] }>("GET", `/api/rejected?vehicleId=${enc(id)}&limit=50`)),
  anomalies: (id: string) =>
    items(request<{ items: Anomaly[] }>("GET", `/api/anomalies?vehicleId=${enc(id)}&limit=50`)),

  async importCsv(csv: string, dryRun: boolean): Promise<ImportAnswer> {
    const res = await fetch(`/api/vehicles/import?dryRun=${dryRun}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "text/csv" },
      body: csv,
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new ApiError(res.status, body.message ?? `${res.status} ${res.statusText}`, body);
    return body as ImportAnswer;
  },
  /** The export as a file: fetched first, so a failure is an error on the page, not a silent download. */
  async exportCsv(): Promise<Blob> {
    const res = await fetch("/api/vehicles/export.csv", { credentials: "same-origin" });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      throw new ApiError(res.status, body.message ?? `${res.status} ${res.statusText}`, body);
    }
    return res.blob();
  },

  users: () => items(request<{ items: UserRow[] }>("GET", "/api/users")),
  addUser: (u: { username: string; role: Role; password?: string }) =>
    request<{ username: string; password?: string }>("POST", "/api/users", u),
  setUserDisabled: (username: string, disabled: boolean) =>
    request<unknown>("POST", `/api/users/${enc(username)}/${disabled ? "disable" : "enable"}`),
  removeUser: (username: string) => request<void>("DELETE", `/api/users/${enc(username)}`),
  resetPassword: (username: string, password?: string) =>
    request<{ password?: string }>(
      "POST",
      `/api/users/${enc(username)}/password`,
      password ? { password } : {},
    ),
  logoutUser: (username: string) =>
    request<{ sessions: number }>("POST", `/api/users/${enc(username)}/logout`),
  logoutEverywhere: () => request<{ sessions: number }>("POST", "/api/auth/logout-all"),

  tokens: () => items(request<{ items: TokenRow[] }>("GET", "/api/tokens")),
  addToken: (t: { name: string; role: Role; expiresAt?: string; groupIds?: number[] }) =>
    request<TokenRow & { token: string }>("POST", "/api/tokens", t),
  revokeToken: (id: number) => request<void>("DELETE", `/api/tokens/${id}`),

  integrations: () => items(request<{ items: IntegrationRow[] }>("GET", "/api/integrations")),
  addIntegration: (name: string) =>
    request<{ name: string; username: string; password: string }>("POST", "/api/integrations", { name }),
  removeIntegration: (name: string) => request<void>("DELETE", `/api/integrations/${enc(name)}`),
};

const FIELD_NAMES: Record<string, string> = {
  id: "Vehicle id",
  name: "Name",
  plate: "Plate",
  imei: "IMEI",
  username: "Username",
  password: "Password",
  payload: "Command",
  role: "Role",
};

/**
 * What to tell a person about a failed call: the API's reason without its field paths
 * (`body.imei: must be 8 to 20 digits` → `IMEI: must be 8 to 20 digits`), and plain words for a
 * refusal or an unreachable server.
 */
export function errorText(err: unknown): string {
  if (!(err instanceof ApiError))
    return "The server could not be reached. Check the connection and try again.";
  if (err.status === 403) return "Only an admin may do this.";
  if (err.status === 401) return "Your session has ended. Log in again.";
  if (err.status === 404 && err.code === "E_NOT_FOUND")
    return `Not found: ${err.message.replace(/^no /, "")}.`;
  if (err.status === 409 && err.code === "E_ALREADY_EXISTS") return `Already taken: ${err.message}.`;
  if (err.status >= 500 && !err.code) return "The server failed to answer. Try again in a moment.";
  const msg = err.message.replace(
    /\b(?:body|querystring|params)\.([A-Za-z]+):/g,
    (_m, f: string) => `${FIELD_NAMES[f] ?? f}:`,
  );
  return msg.charAt(0).toUpperCase() + msg.slice(1);
}
