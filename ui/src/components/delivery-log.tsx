import { useCallback, useEffect, useState } from "react";
import { alertsApi, type Delivery } from "../alerts-api.ts";
import { errorText } from "../error-text.ts";
import { dateTime } from "../format.ts";

const REFRESH_MS = 2000;

const STATUS_TEXT: Record<Delivery["status"], string> = {
  ok: "delivered",
  failed: "failed, will retry",
  dead: "gave up",
};

/** "Speeding 80 · Van 7 (truck-7) · started": what was sent, in the names people know. */
function whatText(d: Delivery): string {
  if (d.phase === "test") return "test";
  const vehicle = d.vehicleName ? `${d.vehicleName} (${d.vehicleId})` : (d.vehicleId ?? "");
  return [d.ruleName ?? `alert #${d.alertId}`, vehicle, d.phase === "start" ? "started" : "ended"]
    .filter(Boolean)
    .join(" · ");
}

/**
 * A channel's delivery log, one row per attempt, newest first, filtered by outcome; the newest
 * page is refreshed while it is open (a "send test" or a retry shows up without a click), and
 * "Older" pages back with the API's cursor.
 */
export function DeliveryLog(props: { channelId: number; channelName: string }) {
  const [status, setStatus] = useState<Delivery["status"] | "">("");
  const [newest, setNewest] = useState<Delivery[] | undefined>();
  const [older, setOlder] = useState<Delivery[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>();

  const load = useCallback(async () => {
    try {
      const page = await alertsApi.deliveries(props.channelId, { status: status || undefined });
      setNewest(page.items);
      // the cursor of the first page, until older pages are shown (they go on from their own)
      setCursor((c) => (older.length === 0 ? page.nextCursor : c));
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    }
  }, [props.channelId, status, older.length]);

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);

  const filter = (s: Delivery["status"] | "") => {
    setStatus(s);
    setOlder([]);
    setCursor(null);
    setNewest(undefined);
  };

  const loadOlder = async () => {
    if (!cursor) return;
    try {
      const page = await alertsApi.deliveries(props.channelId, { status: status || undefined, cursor });
      setOlder((o) => [...o, ...page.items]);
      setCursor(page.nextCursor);
    } catch (err) {
      setError(errorText(err));
    }
  };

  const seen = new Set<number>();
  const rows = [...(newest ?? []), ...older].filter((d) => !seen.has(d.id) && seen.add(d.id));
  return (
    <div className="delivery-log">
      <label className="inline">
        Show
        <select
          value={status}
          onChange={(e) => filter(e.target.value as Delivery["status"] | "")}
          aria-label={`delivery status of ${props.channelName}`}
        >
          <option value="">every attempt</option>
          <option value="ok">delivered</option>
          <option value="failed">failed, will retry</option>
          <option value="dead">gave up</option>
        </select>
      </label>
      {error && <p className="error">{error}</p>}
      {newest && rows.length === 0 && <p className="muted">Nothing sent to this channel yet.</p>}
      {rows.length > 0 && (
        <table className="table" aria-label={`deliveries of ${props.channelName}`}>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Attempt</th>
              <th scope="col">Status</th>
              <th scope="col">Latency</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <tr key={d.id} data-testid="delivery-row" data-status={d.status} data-phase={d.phase}>
                <td>{dateTime(d.at)}</td>
                <td>{whatText(d)}</td>
                <td>{d.attempt}</td>
                <td title={d.error ?? undefined}>
                  {STATUS_TEXT[d.status]}
                  {d.httpStatus !== null && ` (HTTP ${d.httpStatus})`}
                  {d.error && <div className="muted">{d.error}</div>}
                </td>
                <td>{d.latencyMs === null ? "—" : `${d.latencyMs} ms`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {cursor && (
        <button type="button" className="link" onClick={() => void loadOlder()}>
          Older<span className="sr-only"> deliveries of {props.channelName}</span>
        </button>
      )}
    </div>
  );
}
