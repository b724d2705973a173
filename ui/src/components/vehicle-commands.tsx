import { type FormEvent, useCallback, useEffect, useState } from "react";
import { adminApi, type Command, errorText } from "../admin-api.ts";
import { dateTime } from "../format.ts";
import { ErrorLine } from "./error-line.tsx";

const POLL_MS = 2000;
const PRESETS = ['{"action":"reportLocation"}', '{"action":"reboot"}'];

const STATUS_TEXT: Record<Command["status"], string> = {
  pending: "waiting for the device",
  delivered: "delivered, no answer yet",
  acked: "done",
  failed: "the device answered with an error",
};

/** Sends a command (any JSON) and follows its status until the device answers. */
export function VehicleCommands(props: { vehicleId: string; canSend: boolean }) {
  const [list, setList] = useState<Command[]>([]);
  const [text, setText] = useState(PRESETS[0] as string);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setList(await adminApi.commands(props.vehicleId));
    } catch (err) {
      setError(errorText(err));
    }
  }, [props.vehicleId]);

  useEffect(() => {
    void load();
  }, [load]);
  // follow the open commands only; a settled list is not polled
  const open = list.some((c) => c.status === "pending" || c.status === "delivered");
  useEffect(() => {
    if (!open) return;
    const t = setInterval(() => void load(), POLL_MS);
    return () => clearInterval(t);
  }, [open, load]);

  const send = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      setError('The command must be JSON, for example {"action":"reportLocation"}.');
      return;
    }
    setBusy(true);
    try {
      const c = await adminApi.sendCommand(props.vehicleId, payload);
      setList((l) => [c, ...l.filter((x) => x.id !== c.id)]);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-label="commands" data-testid="vehicle-commands">
      <h3>Commands</h3>
      {props.canSend && (
        <form onSubmit={send}>
          <label>
            Command payload (JSON, delivered to the device as written)
            <textarea value={text} onChange={(e) => setText(e.target.value)} rows={2} spellCheck={false} />
          </label>
          <div className="row">
            <button type="submit" disabled={busy}>
              Send command
            </button>
            {PRESETS.map((p) => (
              <button type="button" key={p} className="link" onClick={() => setText(p)}>
                {JSON.parse(p).action}
              </button>
            ))}
          </div>
        </form>
      )}
      <ErrorLine error={error} />
      {list.length === 0 ? (
        <p className="muted">No commands sent yet.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Sent</th>
              <th>Command</th>
              <th>Result</th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <tr key={c.id} data-testid="command-row" data-status={c.status}>
                <td>{dateTime(c.createdAt)}</td>
                <td>
                  <span className="muted">payload </span>
                  <code>{JSON.stringify(c.payload)}</code>
                </td>
                <td>
                  {STATUS_TEXT[c.status]}
                  {c.response !== null && c.response !== undefined && (
                    <pre className="command-response" data-testid="command-response">
                      {JSON.stringify(c.response, null, 2)}
                    </pre>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
