import "./admin.css";
import { type FormEvent, useCallback, useEffect, useState } from "react";
import { type AuditFilter, type AuditRow, accessApi } from "../access-api.ts";
import { errorText } from "../admin-api.ts";
import { actionText, actorText, changeLines } from "../audit-text.ts";
import { dateTime, displayZone } from "../format.ts";
import { ErrorLine } from "./error-line.tsx";

const PAGE = 50;

/** A `datetime-local` value (this browser's time) as the API's ISO-8601, or nothing. */
const isoOf = (local: string) => (local ? new Date(local).toISOString() : undefined);

const failed = (r: AuditRow) => (r.source === "cli" ? r.status !== 0 : r.status >= 400);
/** An API row's HTTP status, a CLI row's exit code, in words. */
const resultText = (r: AuditRow) =>
  !failed(r) ? "done" : r.source === "cli" ? `failed (exit ${r.status})` : `refused (${r.status})`;

/**
 * The audit log (admins): every write through the API or the CLI, newest first, filtered by who,
 * what (part of the action), the target and a time range, a page at a time (GET /api/audit).
 */
export function AuditLog() {
  const [draft, setDraft] = useState({ actor: "", action: "", entity: "", entityId: "", from: "", to: "" });
  const [filter, setFilter] = useState<AuditFilter>({});
  // the cursors of the pages shown before this one: "Newer" goes back one
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [rows, setRows] = useState<AuditRow[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const cursor = cursors[cursors.length - 1];

  const load = useCallback(async () => {
    setBusy(true);
    try {
      const page = await accessApi.audit(filter, cursor, PAGE);
      setRows(page.items);
      setNext(page.nextCursor);
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }, [filter, cursor]);
  useEffect(() => {
    void load();
  }, [load]);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    const t = (s: string) => (s.trim() === "" ? undefined : s.trim());
    setFilter({
      actor: t(draft.actor),
      action: t(draft.action),
      entity: t(draft.entity),
      entityId: t(draft.entityId),
      from: isoOf(draft.from),
      to: isoOf(draft.to),
    });
    setCursors([undefined]);
  };
  const field = (key: keyof typeof draft, label: string, type = "text", placeholder = "") => (
    <label>
      {label}
      <input
        type={type}
        value={draft[key]}
        placeholder={placeholder}
        onChange={(e) => setDraft({ ...draft, [key]: e.target.value })}
      />
    </label>
  );

  return (
    <section className="wide-view audit" aria-label="audit log" data-testid="audit-log">
      <h2>Audit log</h2>
      <form onSubmit={apply} aria-label="filter the audit log" className="row filters">
        {field("actor", "Who", "text", "user:alice, token:ci, cli:root")}
        {field("action", "Action contains", "text", "groups, PATCH /api/vehicles")}
        {field("entity", "Target kind", "text", "vehicles, geofences, users")}
        {field("entityId", "Target id")}
        {field("from", "From (this browser's time)", "datetime-local")}
        {field("to", "To", "datetime-local")}
        <div className="row">
          <button type="submit">Filter</button>
          <button type="button" onClick={() => void load()} disabled={busy}>
            Refresh
          </button>
        </div>
      </form>
      <ErrorLine error={error} />
      <p className="muted">Times in {displayZone()}.</p>
      <table className="data-table">
        <thead>
          <tr>
            <th>When</th>
            <th>Who</th>
            <th>Action</th>
            <th>Target</th>
            <th>Result</th>
            <th>Change</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} data-testid="audit-row" data-action={r.action}>
              <td>{dateTime(r.at)}</td>
              <td>
                {actorText(r.actor).name}
                {actorText(r.actor).kind && <span className="muted"> ({actorText(r.actor).kind})</span>}
                {r.ip && <span className="muted"> from {r.ip}</span>}
              </td>
              <td title={r.action}>{actionText(r)}</td>
              <td>
                {r.entity}
                {r.entityId && ` ${r.entityId}`}
              </td>
              <td className={failed(r) ? "error" : ""}>{resultText(r)}</td>
              <td className="change" data-testid="audit-change">
                {changeLines(r).map((line) => (
                  <div key={line}>{line}</div>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && !busy && <p className="muted">No rows match.</p>}
      <div className="row">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <span className="muted">Page {cursors.length}</span>
        <button
          type="button"
          disabled={next === null}
          onClick={() => setCursors([...cursors, next ?? undefined])}
        >
          Older
        </button>
      </div>
    </section>
  );
}
