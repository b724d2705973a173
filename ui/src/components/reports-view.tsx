import { type FormEvent, useCallback, useEffect, useState } from "react";
import { errorText } from "../error-text.ts";
import { dayOf, dayStart, displayZone, nextDay, unitLabels } from "../format.ts";
import {
  type OffsetPage,
  type Order,
  type ReportKind,
  type ReportQuery,
  type ReportRow,
  reportsApi,
  type SummaryRow,
} from "../reports-api.ts";
import type { VehicleView } from "../use-vehicles.ts";
import { DailyChart } from "./daily-chart.tsx";
import { DataTable, Pager } from "./data-table.tsx";
import { ErrorLine } from "./error-line.tsx";
import { ExportButton } from "./export-button.tsx";
import { reportColumns } from "./report-columns.tsx";
import { TabButtons } from "./tab-buttons.tsx";
import { VehicleSelect } from "./vehicle-select.tsx";

const KINDS = ["summary", "trips", "stops"] as const;
const PAGE = 100;
const LABELS: Record<ReportKind, string> = {
  summary: "daily analytics per vehicle",
  trips: "trips",
  stops: "stops",
};
const DEFAULT_SORT: Record<ReportKind, { sort: string; order: Order }> = {
  summary: { sort: "vehicleId", order: "asc" },
  trips: { sort: "startedAt", order: "desc" },
  stops: { sort: "startedAt", order: "desc" },
};

/**
 * Reports across the fleet, in the wide view: per-vehicle totals over fleet days, trips and stops,
 * sorted, filtered and paged by the API (fleet-sized: never all rows in the browser), in the
 * user's units, exported as CSV with the same filters and order.
 */
export function ReportsView(props: { vehicles: VehicleView[]; fleetTimeZone: string }) {
  const today = dayOf(new Date());
  const [kind, setKind] = useState<ReportKind>("summary");
  const [form, setForm] = useState({ fromDay: today, toDay: today, text: "", vehicleId: "" });
  const [applied, setApplied] = useState(form);
  const [sorts, setSorts] = useState(DEFAULT_SORT);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<OffsetPage<ReportRow> | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);

  const query = useCallback(
    (): ReportQuery => ({
      kind,
      ...applied,
      from: dayStart(applied.fromDay),
      to: dayStart(nextDay(applied.toDay)),
      ...sorts[kind],
    }),
    [kind, applied, sorts],
  );

  useEffect(() => {
    let current = true;
    setLoading(true);
    setError(undefined);
    reportsApi
      .page(query(), PAGE, offset)
      .then((p) => current && setPage(p))
      .catch((err: unknown) => {
        if (!current) return;
        setPage(undefined);
        // the API's limits (a year at most) come back as its 400s, in the form's words
        setError(errorText(err, { "querystring.to": "The last day", "querystring.from": "The first day" }));
      })
      .finally(() => current && setLoading(false));
    return () => {
      current = false;
    };
  }, [query, offset]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setOffset(0);
    setApplied(form);
  };

  const { sort, order } = sorts[kind];
  const rows = page?.items ?? [];
  const total = page?.total ?? 0;
  const name = `${kind}-${applied.fromDay}${applied.toDay !== applied.fromDay ? `-${applied.toDay}` : ""}.csv`;
  return (
    <section className="wide-view reports" aria-label="reports">
      <div className="row toolbar">
        <h2>Reports</h2>
        <TabButtons
          tabs={KINDS}
          active={kind}
          onSelect={(k) => {
            setKind(k);
            setOffset(0);
            setPage(undefined);
          }}
          label="report"
          className="subtabs"
        />
      </div>
      <form className="row filters" onSubmit={submit} aria-label="report filters">
        <label>
          First day
          <input
            type="date"
            value={form.fromDay}
            onChange={(e) => setForm({ ...form, fromDay: e.target.value })}
            required
          />
        </label>
        <label>
          Last day
          <input
            type="date"
            value={form.toDay}
            onChange={(e) => setForm({ ...form, toDay: e.target.value })}
            required
          />
        </label>
        {kind === "summary" ? (
          <label>
            Vehicle id or name
            <input
              type="search"
              value={form.text}
              onChange={(e) => setForm({ ...form, text: e.target.value })}
              placeholder="contains…"
            />
          </label>
        ) : (
          <VehicleSelect
            vehicles={props.vehicles}
            value={form.vehicleId}
            onChange={(vehicleId) => setForm({ ...form, vehicleId })}
            empty="All vehicles"
          />
        )}
        <button type="submit">Show</button>
        <ExportButton url={() => reportsApi.csvUrl(query(), unitLabels().api)} filename={name} />
      </form>
      <p className="muted">
        {kind === "summary"
          ? `Fleet days in ${props.fleetTimeZone}, totals per vehicle.`
          : `Overlapping ${applied.fromDay} 00:00 to ${nextDay(applied.toDay)} 00:00 (${displayZone()}).`}
      </p>
      <ErrorLine error={error} testId="report-error" />
      {kind === "summary" && rows.length > 0 && <DailyChart rows={rows as SummaryRow[]} />}
      <DataTable
        label={LABELS[kind]}
        columns={reportColumns(kind)}
        rows={rows}
        rowKey={(r) => ("id" in r ? r.id : r.vehicleId)}
        sort={sort}
        order={order}
        onSort={(s, o) => {
          setSorts({ ...sorts, [kind]: { sort: s, order: o } });
          setOffset(0);
        }}
        empty={loading ? "Loading…" : "Nothing in this range."}
      />
      <Pager
        text={total === 0 ? "0 rows" : `${offset + 1}–${offset + rows.length} of ${total}`}
        hasPrevious={offset > 0}
        hasNext={offset + PAGE < total}
        onPrevious={() => setOffset(Math.max(0, offset - PAGE))}
        onNext={() => setOffset(offset + PAGE)}
      />
    </section>
  );
}
