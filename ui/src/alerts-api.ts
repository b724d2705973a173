import { type Page, q, request } from "./api.ts";

/**
 * Alert rules, alerts and notification channels as the UI uses them (README "Alerts" and
 * "Notifications"); the shapes are declared here because ui/ imports nothing outside ui/.
 */
export type AlertRuleKind =
  | "geofence_enter"
  | "geofence_exit"
  | "speeding"
  | "idling"
  | "offline"
  | "no_fix"
  | "threshold";

export type AlertScope =
  | { kind: "fleet" }
  | { kind: "group"; groupId: number }
  | { kind: "vehicle"; vehicleId: string };

export interface QuietHours {
  /** "HH:MM" in the fleet's time zone; from > to spans midnight */
  from: string;
  to: string;
}

export interface AlertRule {
  id: number;
  name: string;
  kind: AlertRuleKind;
  params: Record<string, unknown>;
  scope: AlertScope;
  channelIds: number[];
  quietHours: QuietHours | null;
  enabled: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export type AlertRuleInput = Pick<
  AlertRule,
  "name" | "params" | "scope" | "channelIds" | "quietHours" | "enabled"
>;

/** GET /api/alerts: one episode (times ISO-8601). */
export interface Alert {
  id: number;
  ruleId: number;
  ruleName: string;
  kind: AlertRuleKind;
  vehicleId: string;
  startedAt: string;
  endedAt: string | null;
  peak: Record<string, number> | null;
  lat: number | null;
  lng: number | null;
  quiet: boolean;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
}

/** An alert phase on the live socket (`events` messages, type "alert"; times ISO-8601). */
export interface AlertMessage extends Omit<Alert, "acknowledgedAt" | "acknowledgedBy"> {
  type: "alert";
  phase: "start" | "end" | "retracted";
  /** derived by a replay after late fixes */
  late: boolean;
}

export interface AlertFilter {
  vehicleId?: string | undefined;
  kind?: AlertRuleKind | undefined;
  /** started at or after */
  from?: Date | undefined;
}

export interface NotificationChannel {
  id: number;
  name: string;
  kind: "webhook" | "email";
  url?: string;
  to?: string[];
  /** masked (****abcd) except in the answer to the channel's creation */
  secret: string | null;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export type ChannelInput =
  | { kind: "webhook"; name?: string; url: string; secret?: string }
  | { kind: "email"; name?: string; to: string[] };

/** One attempt of one delivery (a message to a channel). */
export interface Delivery {
  id: number;
  deliveryId: string;
  alertId: number | null;
  phase: "start" | "end" | "test";
  attempt: number;
  status: "ok" | "failed" | "dead";
  httpStatus: number | null;
  latencyMs: number | null;
  error: string | null;
  at: string;
  vehicleId: string | null;
  vehicleName: string | null;
  ruleName: string | null;
}

/** Every item of an id-paged collection, following the cursor. */
async function all<T>(path: string): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<T> = await request("GET", `${path}?${q({ limit: 1000, cursor: cursor ?? undefined })}`);
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

const alertsPage = (f: AlertFilter, acknowledged: boolean, limit: number) =>
  request<Page<Alert>>(
    "GET",
    `/api/alerts?${q({
      vehicleId: f.vehicleId,
      kind: f.kind,
      from: f.from?.toISOString(),
      acknowledged: String(acknowledged),
      limit,
    })}`,
  ).then((p) => p.items);

export const alertsApi = {
  rules: () => all<AlertRule>("/api/alert-rules"),
  createRule: (rule: AlertRuleInput & { kind: AlertRuleKind }) =>
    request<AlertRule>("POST", "/api/alert-rules", rule),
  /** If-Match: the version the form was opened on, so a change made meanwhile answers 409 */
  updateRule: (id: number, version: number, patch: Partial<AlertRuleInput>) =>
    request<AlertRule>("PATCH", `/api/alert-rules/${id}`, patch, { "if-match": String(version) }),
  rule: (id: number) => request<AlertRule>("GET", `/api/alert-rules/${id}`),
  deleteRule: (id: number) => request<void>("DELETE", `/api/alert-rules/${id}`),

  /** The inbox: unacknowledged alerts first, then acknowledged ones, each newest first. */
  async inbox(f: AlertFilter, limit = 200): Promise<Alert[]> {
    const [open, done] = await Promise.all([alertsPage(f, false, limit), alertsPage(f, true, limit)]);
    return [...open, ...done];
  },
  ack: (id: number) => request<Alert>("POST", `/api/alerts/${id}/ack`),

  channels: () => all<NotificationChannel>("/api/notification-channels"),
  createChannel: (c: ChannelInput) => request<NotificationChannel>("POST", "/api/notification-channels", c),
  setChannelEnabled: (id: number, enabled: boolean) =>
    request<NotificationChannel>("PATCH", `/api/notification-channels/${id}`, { enabled }),
  deleteChannel: (id: number) => request<void>("DELETE", `/api/notification-channels/${id}`),
  sendTest: (id: number) => request<{ deliveryId: string }>("POST", `/api/notification-channels/${id}/test`),
  /** newest first; `cursor` (a page's nextCursor) for older ones */
  deliveries: (id: number, f: { status?: Delivery["status"]; cursor?: string }, limit = 50) =>
    request<Page<Delivery>>(
      "GET",
      `/api/notification-channels/${id}/deliveries?${q({ limit, status: f.status, cursor: f.cursor })}`,
    ),
  /** "acknowledge all shown": the ids acknowledged by this call */
  ackAll: (ids: number[]) => request<{ acknowledged: number[] }>("POST", "/api/alerts/ack", { ids }),
  rotateSecret: (id: number, secret: string) =>
    request<NotificationChannel>("PATCH", `/api/notification-channels/${id}`, { secret }),
};
