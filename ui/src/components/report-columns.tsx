import type { Stop, Trip } from "../api.ts";
import { dateTime, distanceValue, hoursValue, speedValue, unitLabels } from "../format.ts";
import type { ReportKind, ReportRow, SummaryRow } from "../reports-api.ts";
import type { Column } from "./data-table.tsx";

const place = (lat: number, lng: number) => `${lat.toFixed(4)}, ${lng.toFixed(4)}`;

/** Distance and speeds, alike in the summary and the trips. */
function measures(u: ReturnType<typeof unitLabels>): Column<ReportRow>[] {
  type Measured = { distanceM: number; avgSpeedKmh: number | null; maxSpeedKmh: number | null };
  const m = (f: (r: Measured) => string) => (r: ReportRow) => f(r as Measured);
  return [
    {
      key: "distance",
      label: `Distance (${u.distance})`,
      sort: "distance",
      numeric: true,
      cell: m((r) => distanceValue(r.distanceM)),
    },
    {
      key: "avg",
      label: `Avg speed (${u.speed})`,
      sort: "avgSpeed",
      numeric: true,
      cell: m((r) => speedValue(r.avgSpeedKmh)),
    },
    {
      key: "max",
      label: `Max speed (${u.speed})`,
      sort: "maxSpeed",
      numeric: true,
      cell: m((r) => speedValue(r.maxSpeedKmh)),
    },
  ];
}

/** The columns of each report, every number with its unit in the header (the user's units). */
export function reportColumns(kind: ReportKind): Column<ReportRow>[] {
  const u = unitLabels();
  const vehicle: Column<ReportRow> = {
    key: "vehicle",
    label: "Vehicle",
    sort: "vehicleId",
    cell: (r) => ("name" in r && r.name ? `${r.name} (${r.vehicleId})` : r.vehicleId),
  };
  if (kind === "summary") {
    const s = (f: (r: SummaryRow) => string) => (r: ReportRow) => f(r as SummaryRow);
    return [
      vehicle,
      ...measures(u),
      {
        key: "moving",
        label: "Moving (h)",
        sort: "moving",
        numeric: true,
        cell: s((r) => hoursValue(r.movingS)),
      },
      { key: "idle", label: "Idle (h)", sort: "idle", numeric: true, cell: s((r) => hoursValue(r.idleS)) },
      { key: "days", label: "Days", numeric: true, cell: s((r) => String(r.days)) },
      { key: "fixes", label: "Fixes", sort: "fixes", numeric: true, cell: s((r) => String(r.fixes)) },
    ];
  }
  const started: Column<ReportRow> = {
    key: "started",
    label: "Started",
    sort: "startedAt",
    cell: (r) => dateTime((r as Trip | Stop).startedAt),
  };
  const ended: Column<ReportRow> = {
    key: "ended",
    label: "Ended",
    cell: (r) => dateTime((r as Trip).endedAt),
  };
  const duration: Column<ReportRow> = {
    key: "duration",
    label: "Duration (h)",
    sort: "duration",
    numeric: true,
    cell: (r) => hoursValue((r as Trip | Stop).durationS),
  };
  if (kind === "stops")
    return [
      vehicle,
      started,
      ended,
      duration,
      { key: "where", label: "Where (lat, lng)", cell: (r) => place((r as Stop).lat, (r as Stop).lng) },
    ];
  const t = (f: (r: Trip) => string) => (r: ReportRow) => f(r as Trip);
  return [
    vehicle,
    started,
    ended,
    duration,
    ...measures(u),
    { key: "from", label: "From (lat, lng)", cell: t((r) => place(r.start.lat, r.start.lng)) },
    { key: "to", label: "To (lat, lng)", cell: t((r) => place(r.end.lat, r.end.lng)) },
  ];
}
