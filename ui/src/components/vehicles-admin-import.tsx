import { useState } from "react";
import { adminApi, errorText, type ImportAnswer } from "../admin-api.ts";
import { ErrorLine } from "./error-line.tsx";

const RESULT_TEXT: Record<string, string> = {
  valid: "ready",
  created: "created",
  invalid: "not valid",
  duplicate: "repeated in the file",
  exists: "already registered",
};

/**
 * Bulk add from a CSV file (`id,name,plate,imei`): check it first (dry run, nothing is created),
 * then import; every row says what happened, and the new secrets are shown once.
 */
export function VehicleImport(props: { onImported: () => void; onClose: () => void }) {
  const [csv, setCsv] = useState("");
  const [fileName, setFileName] = useState<string | undefined>();
  const [answer, setAnswer] = useState<ImportAnswer | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const run = async (dryRun: boolean) => {
    setBusy(true);
    setError(undefined);
    try {
      const a = await adminApi.importCsv(csv, dryRun);
      setAnswer(a);
      if (!dryRun && a.created > 0) props.onImported();
    } catch (err) {
      setAnswer(undefined);
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const created = answer?.items.filter((i) => i.credentials) ?? [];
  return (
    <section className="card" aria-label="import vehicles" data-testid="vehicle-import">
      <h3>Import vehicles from CSV</h3>
      <p className="muted">
        First line <code>id,name,plate,imei</code>; one vehicle per line. Rows are checked one by one: a bad
        row does not stop the others.
      </p>
      <label>
        CSV file
        <input
          type="file"
          accept=".csv,text/csv"
          onChange={async (e) => {
            const f = e.target.files?.[0];
            setAnswer(undefined);
            setFileName(f?.name);
            setCsv(f ? await f.text() : "");
          }}
        />
      </label>
      <label>
        or paste it here
        <textarea
          value={csv}
          rows={4}
          spellCheck={false}
          onChange={(e) => {
            setCsv(e.target.value);
            setFileName(undefined);
            setAnswer(undefined);
          }}
        />
      </label>
      <div className="row">
        <button type="button" disabled={busy || csv.trim() === ""} onClick={() => void run(true)}>
          Check (dry run)
        </button>
        <button type="button" disabled={busy || csv.trim() === ""} onClick={() => void run(false)}>
          Import{fileName ? ` ${fileName}` : ""}
        </button>
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      </div>
      <ErrorLine error={error} />
      {answer && (
        <div data-testid="import-result">
          <p role="status">
            {answer.dryRun
              ? `Checked ${answer.rows} rows: ${answer.valid} ready to import, ${answer.failed} with problems. Nothing was created.`
              : `Imported: ${answer.created} created, ${answer.failed} not imported.`}
          </p>
          <table className="table">
            <thead>
              <tr>
                <th>Line</th>
                <th>Id</th>
                <th>Result</th>
              </tr>
            </thead>
            <tbody>
              {answer.items.map((i) => (
                <tr key={i.line} data-testid="import-row" data-result={i.result}>
                  <td>{i.line}</td>
                  <td>{i.id}</td>
                  <td className={i.error ? "error" : "ok"}>
                    {RESULT_TEXT[i.result] ?? i.result}
                    {i.error && `: ${i.error}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {created.length > 0 && (
            <details open>
              <summary>New device secrets (shown only now)</summary>
              <textarea
                readOnly
                rows={Math.min(8, created.length + 1)}
                aria-label="new device secrets as CSV"
                data-testid="import-secrets"
                value={`username,password\n${created.map((i) => `${i.credentials?.username},${i.credentials?.password}`).join("\n")}`}
              />
            </details>
          )}
        </div>
      )}
    </section>
  );
}
