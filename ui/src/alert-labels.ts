import type { AlertRule, AlertRuleKind, AlertScope } from "./alerts-api.ts";
import type { GeofenceFeature } from "./api.ts";
import { speed } from "./format.ts";

/** How alert kinds, parameters, scopes and peaks read to people. */
export const KIND_LABELS: Record<AlertRuleKind, string> = {
  speeding: "Speeding",
  idling: "Idling",
  threshold: "Threshold",
  geofence_enter: "Geofence enter",
  geofence_exit: "Geofence exit",
  offline: "Offline",
  no_fix: "No GPS fix",
};

/** Every kind, in the order the forms and filters offer them. */
export const RULE_KINDS: AlertRuleKind[] = [
  "speeding",
  "idling",
  "threshold",
  "geofence_enter",
  "geofence_exit",
  "offline",
  "no_fix",
];

/** The form's label of each API field (error-text.ts). */
export const RULE_FIELD_LABELS: Record<string, string> = {
  "body.name": "Name",
  "body.params.limitKmh": "Speed limit (km/h)",
  "body.params.minSeconds": "Minimum duration (seconds)",
  "body.params.minMinutes": "Minimum duration (minutes)",
  "body.params.minutes": "For at least (minutes)",
  "body.params.attribute": "Attribute",
  "body.params.above": "Value",
  "body.params.below": "Value",
  "body.params": "The limit",
  "body.params.geofenceId": "Geofence",
  "body.scope.vehicleId": "Vehicle",
  "body.scope.groupId": "Group",
  "body.quietHours": "Quiet hours",
  "body.quietHours.from": "Quiet hours start",
  "body.quietHours.to": "Quiet hours end",
  "body.channelIds": "Channels",
  "headers.if-match": "The version",
};

const n = (v: unknown) => (typeof v === "number" ? String(v) : "?");

/** "over 80 km/h for 10 s" */
export function paramsText(rule: Pick<AlertRule, "kind" | "params">, geofences: GeofenceFeature[]): string {
  const p = rule.params;
  switch (rule.kind) {
    case "speeding":
      return `over ${typeof p.limitKmh === "number" ? speed(p.limitKmh) : "?"} for ${n(p.minSeconds)} s`;
    case "idling":
      return `ignition on, standing for ${n(p.minMinutes)} min`;
    case "threshold": {
      const side = p.above !== undefined ? `above ${n(p.above)}` : `below ${n(p.below)}`;
      return `${String(p.attribute)} ${side}${p.minSeconds ? ` for ${n(p.minSeconds)} s` : ""}`;
    }
    case "geofence_enter":
    case "geofence_exit": {
      if (p.geofenceId === undefined) return "any geofence";
      const g = geofences.find((f) => f.id === p.geofenceId);
      return g ? g.properties.name : `geofence #${n(p.geofenceId)}`;
    }
    case "offline":
    case "no_fix":
      return `for ${n(p.minutes)} min`;
  }
}

export function scopeText(scope: AlertScope): string {
  if (scope.kind === "vehicle") return `vehicle ${scope.vehicleId}`;
  if (scope.kind === "group") return `group #${scope.groupId}`;
  return "whole fleet";
}

/** "peak 97 km/h" */
export function peakText(kind: AlertRuleKind, peak: Record<string, number> | null): string {
  if (!peak) return "";
  if (peak.speedKmh !== undefined) return `peak ${speed(peak.speedKmh)}`;
  if (peak.value !== undefined) return `${kind === "threshold" ? "extreme" : "peak"} ${peak.value}`;
  return Object.entries(peak)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
}
