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

/**
 * A channel's delivery log, one row per attempt, newest first; refreshed while it is open, so a
 * "send test" or a retry shows up without a click.
 */
export function DeliveryLog(props: { channelId: number; channelName: string }) {
  const [rows, setRows] = useState<Delivery[] | undefined>();
  const [error, setError] = useState<string | undefined>();

  const load = useCallback(async () => {
    try {
      setRows(await alertsApi.deliveries(props.channelId));
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    }
  }, [props.channelId]);

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);

  return (
    <div className="delivery-log">
      {error && <p className="error">{error}</p>}
      {rows?.length === 0 && <p className="muted">Nothing sent to this channel yet.</p>}
      {rows && rows.length > 0 && (
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
                <td>{d.phase === "test" ? "test" : `alert #${d.alertId} ${d.phase}`}</td>
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
    </div>
  );
}
