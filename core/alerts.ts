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
  /**
   * `start` when the episode begins, `end` when it ends (an episode that begins and ends in one
   * batch sends both, in order). Geofence kinds are instants: one `start`, with endedAt = startedAt.
   * `retracted`: a late upload proved the episode false and its row is deleted (events channel
   * only, never notified).
   */
  phase: "start" | "end" | "retracted";
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
  /** started in the rule's quiet hours: stored and streamed, not notified */
  quiet: boolean;
  /** derived by a replay after late fixes (possibly long after the event time) */
  late: boolean;
}

/** Parameters per rule kind (validated by alertParamsSchemas, core/alert-params.ts). */
export interface GeofenceAlertParams {
  /** one geofence; absent: any */
  geofenceId?: number;
}
export interface SpeedingParams {
  limitKmh: number;
  /** over the limit for at least this long (event time) */
  minSeconds: number;
}
export interface IdlingParams {
  /** ignition on and not moving (under MOVING_SPEED_KMH) for at least this long */
  minMinutes: number;
}
export interface ThresholdParams {
  /** a numeric fix field (speed, heading, altitude, accuracy, odometer) or a key of fix.attributes */
  attribute: string;
  /** exactly one of above / below */
  above?: number;
  below?: number;
  minSeconds?: number;
}
export interface OfflineParams {
  minutes: number;
}

/** Local times "HH:MM" in FLEET_TZ; from > to spans midnight. */
export interface QuietHours {
  from: string;
  to: string;
}

/**
 * The notifier hook the worker calls after COMMIT with the new phases to notify (quiet ones,
 * retractions and those of rules without channels at commit left out), in per-vehicle event
 * order, each with the rule's channels as they are now. It is at-least-once: an item is handed over again until a call that included it resolved
 * (worker/alert-outbox.ts), so a receiver must be idempotent on (alert.id, alert.phase).
 */
export type AlertNotifier = (items: { alert: AlertMessage; channelIds: number[] }[]) => Promise<void>;
