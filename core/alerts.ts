/**
 * Alerts: the contract between the worker, which evaluates alert rules in event time and stores one
 * `alerts` row per episode, and whoever tells people about it (the notifications queue, `/ws`, MQTT
 * `fleet/{id}/events`). An episode has one start and at most one end, whatever the order fixes
 * arrive in; each is announced once as an `AlertMessage` with its phase.
 */
export const ALERT_RULE_KINDS = [
  "geofence_enter",
  "geofence_exit",
  "speeding",
  "idling",
  "offline",
  "no_fix",
  "threshold",
] as const;
export type AlertRuleKind = (typeof ALERT_RULE_KINDS)[number];

/** Where a rule applies: the whole fleet, a vehicle group, or one vehicle. */
export type AlertScope =
  | { kind: "fleet" }
  | { kind: "group"; groupId: number }
  | { kind: "vehicle"; vehicleId: string };

export interface AlertMessage {
  type: "alert";
  /** alerts.id: one row per episode */
  id: number;
  /** `start` when the episode begins, `end` when it ends (an episode that begins and ends in one batch sends both, in order) */
  phase: "start" | "end";
  ruleId: number;
  ruleName: string;
  kind: AlertRuleKind;
  vehicleId: string;
  /** ISO-8601 UTC, event time (the fix that started / ended the episode) */
  startedAt: string;
  endedAt: string | null;
  /** the episode's extreme so far, e.g. `{ speedKmh: 97 }` for speeding */
  peak: Record<string, number> | null;
  lat: number | null;
  lng: number | null;
}
