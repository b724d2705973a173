import { type FleetEvent, type Page, q, request, type Stop, type Trip } from "./api.ts";

/** GET /api/reports/summary: one vehicle's totals over a range of fleet days. */
export interface SummaryRow {
  vehicleId: string;
  name: string | null;
  days: number;
  fixes: number;
  distanceM: number;
  movingS: number;
  idleS: number;
  avgSpeedKmh: number | null;
  maxSpeedKmh: number | null;
}

export interface OffsetPage<T> {
  items: T[];
  total: number;
  offset: number;
}

export type Order = "asc" | "desc";
export type ReportKind = "summary" | "trips" | "stops";
export type ReportRow = SummaryRow | Trip | Stop;

/** What a report is asked for: the same filters give the table's page and the CSV. */
export interface ReportQuery {
  kind: ReportKind;
  /** fleet days, YYYY-MM-DD, both inclusive */
  fromDay: string;
  toDay: string;
  /** trips and stops: the instants those days span in the display zone */
  from: Date;
  to: Date;
  /** summary: id or name contains; trips and stops: one vehicle */
  text: string;
  vehicleId: string;
  sort: string;
  order: Order;
}

function params(r: ReportQuery) {
  return r.kind === "summary"
    ? { from: r.fromDay, to: r.toDay, q: r.text.trim(), sort: r.sort, order: r.order }
    : {
        from: r.from.toISOString(),
        to: r.to.toISOString(),
        vehicleId: r.vehicleId,
        sort: r.sort,
        order: r.order,
      };
}

/** An event filter of GET /api/events. */
export interface EventQuery {
  from: Date;
  /** none: up to now and on */
  to?: Date;
  vehicleId: string;
  geofenceId: string;
  /** a kind, a type of event (geofence: enter and exit, presence: online and offline), or "" for all */
  kind: "" | "geofence" | "presence" | "enter" | "exit" | "online" | "offline";
}

const TYPE_OF = { enter: "geofence", exit: "geofence", online: "presence", offline: "presence" } as const;

const eventParams = (e: EventQuery) => ({
  from: e.from.toISOString(),
  to: e.to?.toISOString(),
  vehicleId: e.vehicleId,
  geofenceId: e.geofenceId,
  kind: e.kind === "geofence" || e.kind === "presence" ? undefined : e.kind,
  // a geofence's events have no presence events among them
  type:
    e.kind === "geofence" || e.kind === "presence"
      ? e.kind
      : e.kind
        ? TYPE_OF[e.kind]
        : e.geofenceId
          ? "geofence"
          : undefined,
  order: "desc",
});

/** A presence change as GET /api/events answers it. */
export interface PresenceRow {
  type: "presence";
  id: number;
  vehicleId: string;
  kind: "online" | "offline";
  at: string | number;
}
export type EventRow = FleetEvent | PresenceRow;

export const reportsApi = {
  page: (r: ReportQuery, limit: number, offset: number) =>
    request<OffsetPage<ReportRow>>("GET", `/api/reports/${r.kind}?${q({ ...params(r), limit, offset })}`),
  csvUrl: (r: ReportQuery, units: "metric" | "imperial") =>
    `/api/reports/${r.kind}?${q({ ...params(r), format: "csv", units })}`,
  /** newest first; `cursor` is the previous page's nextCursor */
  events: (e: EventQuery, limit: number, cursor: string | undefined) =>
    request<Page<EventRow>>("GET", `/api/events?${q({ ...eventParams(e), limit, cursor })}`),
  eventsCsvUrl: (e: EventQuery) => `/api/events?${q({ ...eventParams(e), format: "csv" })}`,
};
