import type { AuditRow } from "./access-api.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === "string" || typeof v === "number" ? String(v) : undefined);

/** The name of what a row changed: its id, else a name its before/after/params carry. */
function target(r: AuditRow): string {
  for (const v of [r.after, r.before]) {
    if (!isObj(v)) continue;
    const name = str(v.name) ?? (isObj(v.properties) ? str(v.properties.name) : undefined);
    if (name) return name;
  }
  return r.entityId ?? "";
}

function vehicles(r: AuditRow): string {
  const ids = Array.isArray(r.params.vehicleIds) ? r.params.vehicleIds.map(String) : [];
  const one = r.params.vehicleId ?? (ids.length === 1 ? ids[0] : undefined);
  if (one !== undefined) return `vehicle ${String(one)}`;
  return `${ids.length} vehicles`;
}

type Phrase = (r: AuditRow, t: string) => string;
/** "METHOD route" → what it did, in words, naming its target. */
const PHRASES: Record<string, Phrase> = {
  "POST /api/users": (_, t) => `added user ${t}`,
  "DELETE /api/users/:username": (_, t) => `removed user ${t}`,
  "POST /api/users/:username/disable": (_, t) => `disabled user ${t}`,
  "POST /api/users/:username/enable": (_, t) => `enabled user ${t}`,
  "POST /api/users/:username/password": (_, t) => `reset the password of user ${t}`,
  "POST /api/users/:username/logout": (_, t) => `logged user ${t} out everywhere`,
  "PUT /api/users/:username/access": (_, t) => `changed access of user ${t}`,
  "POST /api/tokens": (_, t) => `created API token ${t}`,
  "DELETE /api/tokens/:id": (_, t) => `revoked API token ${t}`,
  "PUT /api/tokens/:id/access": (_, t) => `changed access of API token ${t}`,
  "POST /api/integrations": () => "created an integration account",
  "DELETE /api/integrations/:name": (_, t) => `revoked integration account ${t}`,
  "PUT /api/integrations/:name/access": (_, t) => `changed access of integration account ${t}`,
  "POST /api/vehicles": (_, t) => `added vehicle ${t}`,
  "PATCH /api/vehicles/:id": (_, t) => `edited vehicle ${t}`,
  "DELETE /api/vehicles/:id": (_, t) => `removed vehicle ${t}`,
  "POST /api/vehicles/:id/credentials": (_, t) => `rotated the secret of vehicle ${t}`,
  "POST /api/vehicles/:id/commands": (_, t) => `sent a command to vehicle ${t}`,
  "POST /api/vehicles/import": (r) =>
    r.params.dryRun === true ? "checked a vehicle CSV import (dry run)" : "imported vehicles from CSV",
  "POST /api/groups": (_, t) => `created group ${t}`,
  "PATCH /api/groups/:id": (r, t) => `renamed group ${isObj(r.before) ? str(r.before.name) : ""} to ${t}`,
  "DELETE /api/groups/:id": (_, t) => `deleted group ${t}`,
  "POST /api/groups/:id/vehicles": (r) =>
    `added ${vehicles(r)} to group ${str(r.params.group) ?? r.entityId}`,
  "DELETE /api/groups/:id/vehicles/:vehicleId": (r) =>
    `removed ${vehicles(r)} from group ${str(r.params.group) ?? r.entityId}`,
  "POST /api/geofences": (_, t) => `created geofence ${t}`,
  "PATCH /api/geofences/:id": (_, t) => `edited geofence ${t}`,
  "DELETE /api/geofences/:id": (_, t) => `deleted geofence ${t}`,
  "POST /api/alert-rules": (_, t) => `created alert rule ${t}`,
  "PATCH /api/alert-rules/:id": (_, t) => `edited alert rule ${t}`,
  "DELETE /api/alert-rules/:id": (_, t) => `deleted alert rule ${t}`,
  "POST /api/alerts/:id/ack": (_, t) => `acknowledged alert ${t}`,
  "POST /api/notification-channels": (_, t) => `created notification channel ${t}`,
  "PATCH /api/notification-channels/:id": (_, t) => `edited notification channel ${t}`,
  "DELETE /api/notification-channels/:id": (_, t) => `deleted notification channel ${t}`,
  "POST /api/notification-channels/:id/test": (_, t) => `sent a test on notification channel ${t}`,
  "POST /api/auth/login": () => "logged in",
  "POST /api/auth/logout": () => "logged out",
  "POST /api/auth/logout-all": () => "logged out everywhere",
};

/** What a row did, in words ("disabled user view1"); a route without a phrase shows as itself. */
export function actionText(r: AuditRow): string {
  const phrase = PHRASES[r.action];
  return phrase ? phrase(r, target(r)).trim() : r.action;
}

/** "token:ci" → the token's name and its kind, "user:alice" → alice, "cli:root" → root (command line). */
export function actorText(actor: string): { name: string; kind: string } {
  const i = actor.indexOf(":");
  if (i < 0) return { name: actor, kind: "" };
  const kind = actor.slice(0, i);
  const label = { user: "", token: "API token", cli: "command line" }[kind] ?? kind;
  return { name: actor.slice(i + 1), kind: label };
}

const MAX_VALUE = 60;
function valueText(v: unknown): string {
  if (v === undefined || v === null) return "—";
  if (Array.isArray(v)) return v.length === 0 ? "none" : v.map((x) => valueText(x)).join(", ");
  const text = typeof v === "string" ? v : JSON.stringify(v);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

/**
 * A row's change as lines "field: before → after", for the fields that differ; a created thing
 * lists its fields, a removed one shows "removed"; plain values (a rotated secret) as they are.
 */
export function changeLines(r: AuditRow): string[] {
  const { before, after } = r;
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys
      .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
      .map((k) => `${k}: ${valueText(before[k])} → ${valueText(after[k])}`);
  }
  if (isObj(after)) return Object.entries(after).map(([k, v]) => `${k}: ${valueText(v)}`);
  if (after !== null && after !== undefined) return [valueText(after)];
  if (isObj(before)) return [`removed (was ${target(r) || valueText(before)})`];
  return [];
}
