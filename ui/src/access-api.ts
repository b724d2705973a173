import { type Page, q, request } from "./api.ts";

/** Vehicle groups and who may see them (api/routes/groups.ts, grants.ts), and the audit log. */

export interface Group {
  id: number;
  name: string;
  /** how many vehicles are members */
  vehicles: number;
}

export interface Grant {
  allVehicles: boolean;
  groupIds: number[];
}

export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  source: "api" | "cli";
  ip: string | null;
  action: string;
  entity: string;
  entityId: string | null;
  params: Record<string, unknown>;
  status: number;
  before: unknown;
  after: unknown;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  entity?: string;
  entityId?: string;
  from?: string;
  to?: string;
}

const enc = encodeURIComponent;

export const accessApi = {
  groups: () => request<{ items: Group[] }>("GET", "/api/groups").then((x) => x.items),
  group: (id: number) => request<Group & { vehicleIds: string[] }>("GET", `/api/groups/${id}`),
  addGroup: (name: string) => request<Group>("POST", "/api/groups", { name }),
  renameGroup: (id: number, name: string) => request<Group>("PATCH", `/api/groups/${id}`, { name }),
  removeGroup: (id: number) => request<void>("DELETE", `/api/groups/${id}`),
  addMembers: (id: number, vehicleIds: string[]) =>
    request<Group>("POST", `/api/groups/${id}/vehicles`, { vehicleIds }),
  removeMember: (id: number, vehicleId: string) =>
    request<void>("DELETE", `/api/groups/${id}/vehicles/${enc(vehicleId)}`),
  setUserAccess: (username: string, grant: Grant) =>
    request<Grant>("PUT", `/api/users/${enc(username)}/access`, grant),
  audit: (f: AuditFilter, cursor?: string, limit = 50) =>
    request<Page<AuditRow>>("GET", `/api/audit?${q({ ...f, cursor, limit })}`),
};
