import { useState } from "react";
import { downloadFile } from "../download.ts";
import { errorText } from "../error-text.ts";
import { ErrorLine } from "./error-line.tsx";

/** "Export CSV": fetched, then saved; a failed export says why on the page (download.ts). */
export function ExportButton(props: { url: () => string; filename: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await downloadFile(props.url(), props.filename);
    } catch (err) {
      setError(`The export failed: ${errorText(err)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" onClick={() => void run()} disabled={busy}>
        {busy ? "Exporting…" : "Export CSV"}
      </button>
      <ErrorLine error={error} testId="export-error" />
    </>
  );
}
