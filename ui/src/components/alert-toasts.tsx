import { useState } from "react";
import { KIND_LABELS, peakText } from "../alert-labels.ts";
import type { AlertMessage } from "../alerts-api.ts";

const MAX_SHOWN = 3;

/**
 * A toast for each alert that starts while the page is open, kept until dismissed: no timer and no
 * newer alert takes it away before it was read. The newest three show; beyond them "+N more" opens
 * the inbox (they stay, and show as the ones above are dismissed). The region is a polite live
 * region (role="status"), present from the start so screen readers announce what is added to it.
 */
export function AlertToasts(props: { alerts: AlertMessage[]; onShow: () => void }) {
  const [dismissed, setDismissed] = useState<ReadonlySet<number>>(new Set());
  const retracted = new Set(props.alerts.filter((a) => a.phase === "retracted").map((a) => a.id));
  const kept = props.alerts.filter(
    (a) => a.phase === "start" && !retracted.has(a.id) && !dismissed.has(a.id),
  );
  const shown = kept.slice(0, MAX_SHOWN);
  const more = kept.length - shown.length;
  const dismiss = (id: number) => setDismissed((d) => new Set([...d, id]));

  return (
    <div className="toasts" role="status" aria-live="polite" aria-label="new alerts">
      {shown.map((a) => (
        <div key={a.id} className="toast" data-testid="alert-toast" data-alert-id={a.id}>
          <p>
            <strong>
              {KIND_LABELS[a.kind]}: {a.ruleName}
            </strong>
            <br />
            {a.vehicleId}
            {a.peak && `, ${peakText(a.kind, a.peak)}`}
            {a.quiet && " (quiet hours: not notified)"}
            {a.late && " (late data)"}
          </p>
          <div className="row">
            <button
              type="button"
              onClick={() => {
                dismiss(a.id);
                props.onShow();
              }}
            >
              Open inbox
            </button>
            <button type="button" onClick={() => dismiss(a.id)}>
              Dismiss
              <span className="sr-only">
                {" "}
                alert {a.ruleName} on {a.vehicleId}
              </span>
            </button>
          </div>
        </div>
      ))}
      {more > 0 && (
        <button type="button" className="toast toast-more" data-testid="toast-more" onClick={props.onShow}>
          +{more} more: open the inbox
        </button>
      )}
    </div>
  );
}
