import type { AlertMessage } from "../../core/alerts.ts";
import type { NotificationMessage } from "../../core/notifications.ts";

/** The e-mail of a message: a subject, a plain-text body and an HTML body saying the same. */
export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );

function alertLines(a: AlertMessage): [string, string][] {
  const lines: [string, string][] = [
    ["Rule", `${a.ruleName} (${a.kind})`],
    ["Vehicle", a.vehicleId],
    ["Started", a.startedAt],
  ];
  if (a.endedAt) lines.push(["Ended", a.endedAt]);
  if (a.peak)
    lines.push([
      "Peak",
      Object.entries(a.peak)
        .map(([k, v]) => `${k} ${v}`)
        .join(", "),
    ]);
  if (a.lat !== null && a.lng !== null) lines.push(["Position", `${a.lat}, ${a.lng}`]);
  lines.push(["Alert", `#${a.id}`]);
  return lines;
}

/**
 * Names, vehicle ids and rule names are user data: escaped in the HTML, and the subject is one line
 * (a newline could not add headers through nodemailer, but would garble it).
 */
export function renderMail(message: NotificationMessage): RenderedMail {
  const [subject, intro, lines] =
    message.type === "test"
      ? ["Logitrack test notification", message.message, [["Sent", message.sentAt]] as [string, string][]]
      : [
          `${message.ruleName}: ${message.vehicleId} ${message.phase === "start" ? "started" : "ended"}`,
          message.phase === "start"
            ? `Alert: ${message.kind} started for vehicle ${message.vehicleId}.`
            : `Alert over: ${message.kind} ended for vehicle ${message.vehicleId}.`,
          alertLines(message),
        ];
  const text = [intro, "", ...lines.map(([k, v]) => `${k}: ${v}`), "", "-- Logitrack"].join("\n");
  const rows = lines
    .map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join("");
  const html = `<!doctype html><html><body><p>${escapeHtml(intro)}</p><table>${rows}</table><p>&mdash; Logitrack</p></body></html>`;
  return { subject: `[Logitrack] ${subject}`.replace(/[\r\n]+/g, " "), text, html };
}
