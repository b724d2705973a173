import type { Role } from "./admin-api.ts";

/**
 * What the web app offers a role, as the API allows it (api/plugins/auth.ts): operators change
 * vehicles, geofences, alert rules and send commands within their groups (`operate`); only
 * admins manage people, groups, integrations, notification channels, imports and the audit log
 * (`admin`); viewers read. The API refuses what a role may not do; this only hides the controls.
 */
export interface Permissions {
  operate: boolean;
  admin: boolean;
}

export function permissionsOf(role: Role): Permissions {
  return { operate: role === "admin" || role === "operator", admin: role === "admin" };
}
