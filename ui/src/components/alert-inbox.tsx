import { useCallback, useEffect, useState } from "react";
import { KIND_LABELS, peakText, RULE_KINDS } from "../alert-labels.ts";
import { type Alert, type AlertMessage, type AlertRuleKind, alertsApi } from "../alerts-api.ts";
import { errorText } from "../error-text.ts";
import { dateTime } from "../format.ts";
import type { VehicleView } from "../use-vehicles.ts";
import { VehicleSelect } from "./vehicle-select.tsx";

const PERIODS: { label: string; ms: number | undefined }[] = [
  { label: "Last 24 hours", ms: 24 * 3_600_000 },
  { label: "Last 7 days", ms: 7 * 24 * 3_600_000 },
  { label: "Last 30 days", ms: 30 * 24 * 3_600_000 },
  { label: "Any time", ms: undefined },
];

/**
 * The alert inbox: unacknowledged alerts first, then acknowledged ones, newest first, filtered by
 * vehicle, kind and start time. Acknowledging (one, or all shown) is a write: those who may not
 * (`canAck`: viewers) see the inbox without the buttons. An alert phase arriving on the live socket
 * reloads it.
 */
export function AlertInbox(props: {
  vehicles: VehicleView[];
  live: AlertMessage[];
  canAck: boolean;
  onSelectVehicle: (id: string) => void;
}) {
  const [vehicleId, setVehicleId] = useState("");
  const [kind, setKind] = useState<AlertRuleKind | "">("");
  const [period, setPeriod] = useState(0);
  const [alerts, setAlerts] = useState<Alert[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const newest = props.live[0];

  const load = useCallback(async () => {
    const ms = PERIODS[period]?.ms;
    try {
      setAlerts(
        await alertsApi.inbox({
          vehicleId: vehicleId || undefined,
          kind: kind || undefined,
          from: ms === undefined ? undefined : new Date(Date.now() - ms),
        }),
      );
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    }
  }, [vehicleId, kind, period]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new live alert is a reason to reload
  useEffect(() => {
    void load();
  }, [load, newest]);

  const ack = async (a: Alert) => {
    try {
      await alertsApi.ack(a.id);
    } catch (err) {
      setError(errorText(err));
    }
    await load();
  };

  const unacked = alerts?.filter((a) => !a.acknowledgedAt) ?? [];
  const open = unacked.length;
  // the ids shown, never a filter: an alert that arrived after the list was loaded stays open
  const ackAll = async () => {
    if (!window.confirm(`Acknowledge the ${open} unacknowledged alerts shown?`)) return;
    try {
      await alertsApi.ackAll(unacked.map((a) => a.id));
    } catch (err) {
      setError(errorText(err));
    }
    await load();
  };
  return (
    <section aria-label="alert inbox">
      <form className="filters" aria-label="filter alerts" onSubmit={(e) => e.preventDefault()}>
        <VehicleSelect
          vehicles={props.vehicles}
          value={vehicleId}
          onChange={setVehicleId}
          empty="All vehicles"
        />
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value as AlertRuleKind | "")}>
            <option value="">All kinds</option>
            {RULE_KINDS.map((k) => (
              <option key={k} value={k}>
                {KIND_LABELS[k]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Started
          <select value={period} onChange={(e) => setPeriod(Number(e.target.value))}>
            {PERIODS.map((p, i) => (
              <option key={p.label} value={i}>
                {p.label}
              </option>
            ))}
          </select>
        </label>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {alerts && (
        <div className="row inbox-head">
          <p className="muted" data-testid="inbox-count">
            {open} unacknowledged, {alerts.length - open} acknowledged
          </p>
          {props.canAck && open > 1 && (
            <button type="button" onClick={() => void ackAll()}>
              Acknowledge all shown
            </button>
          )}
        </div>
      )}
      <ul className="list" aria-label="alerts">
        {alerts?.map((a) => (
          <li
            key={a.id}
            className={a.acknowledgedAt ? "item alert-row acked" : "item alert-row"}
            data-testid="alert-row"
            data-alert-id={a.id}
            data-acknowledged={a.acknowledgedAt ? "true" : "false"}
          >
            <div className="item-main">
              <span className={`event-kind alert-${a.kind}`}>{KIND_LABELS[a.kind]}</span>{" "}
              <strong>{a.ruleName}</strong>
              <div>
                <button type="button" className="link" onClick={() => props.onSelectVehicle(a.vehicleId)}>
                  {a.vehicleId}
                </button>
                {a.peak && <span className="muted"> · {peakText(a.kind, a.peak)}</span>}
                {a.quiet && <span className="muted"> · quiet hours</span>}
              </div>
              <div className="muted" data-testid="alert-times">
                {dateTime(a.startedAt)}
                {a.endedAt ? (a.endedAt !== a.startedAt ? ` – ${dateTime(a.endedAt)}` : "") : " (ongoing)"}
              </div>
              {a.acknowledgedAt && (
                <div className="muted">
                  Acknowledged by {a.acknowledgedBy?.replace(/^\w+:/, "")} at {dateTime(a.acknowledgedAt)}
                </div>
              )}
            </div>
            {!a.acknowledgedAt && props.canAck && (
              <button type="button" onClick={() => void ack(a)}>
                Acknowledge
                <span className="sr-only">
                  {" "}
                  {a.ruleName} on {a.vehicleId}
                </span>
              </button>
            )}
          </li>
        ))}
      </ul>
      {alerts?.length === 0 && <p className="muted">No alerts match.</p>}
    </section>
  );
}
