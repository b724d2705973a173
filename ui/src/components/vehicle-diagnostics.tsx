import { useCallback, useEffect, useState } from "react";
import { type Anomaly, adminApi, errorText, type Rejected } from "../admin-api.ts";
import { dateTime } from "../format.ts";
import { ErrorLine } from "./error-line.tsx";

/**
 * What went wrong with a vehicle's messages: those rejected (with the reason code the bridge
 * gave, core/reject-reasons.ts) and the late, duplicate or clock-skewed fixes the worker noted.
 */
export function VehicleDiagnostics(props: { vehicleId: string }) {
  const [rejected, setRejected] = useState<Rejected[] | undefined>();
  const [anomalies, setAnomalies] = useState<Anomaly[] | undefined>();
  const [error, setError] = useState<string | undefined>();

  const load = useCallback(async () => {
    setError(undefined);
    try {
      const [r, a] = await Promise.all([
        adminApi.rejected(props.vehicleId),
        adminApi.anomalies(props.vehicleId),
      ]);
      setRejected(r);
      setAnomalies(a);
    } catch (err) {
      setError(errorText(err));
    }
  }, [props.vehicleId]);

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section aria-label="message problems" data-testid="vehicle-diagnostics">
      <div className="row">
        <h3>Rejected messages</h3>
        <span className="spacer" />
        <button type="button" className="link" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <ErrorLine error={error} />
      {rejected?.length === 0 && <p className="muted">None.</p>}
      {rejected && rejected.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>Received</th>
              <th>Reason</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {rejected.map((r) => (
              <tr key={r.id} data-testid="rejected-row">
                <td>{dateTime(r.receivedAt)}</td>
                <td>
                  <code>{r.reason}</code>
                </td>
                <td title={r.payload}>
                  {r.detail} <span className="muted">on {r.topic}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Anomalies</h3>
      {anomalies?.length === 0 && <p className="muted">None.</p>}
      {anomalies && anomalies.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>Fix time</th>
              <th>Kind</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {anomalies.map((a) => (
              <tr key={a.id} data-testid="anomaly-row">
                <td>{dateTime(a.recordedAt)}</td>
                <td>{a.kind}</td>
                <td>{a.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
