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

/** What the mail says beside the message: the fleet's time zone, and the vehicle's name if it has one. */
export interface MailContext {
  timeZone: string;
  vehicleName?: string | null;
}

const clocks = new Map<string, Intl.DateTimeFormat>();

/** "2026-03-01 14:00:00 Asia/Dubai": the fleet's local time, named, never raw UTC ISO. */
export function fleetTime(iso: string, timeZone: string): string {
  let f = clocks.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("sv-SE", {
      timeZone,
      dateStyle: "short",
      timeStyle: "medium",
      hourCycle: "h23",
    });
    clocks.set(timeZone, f);
  }
  return `${f.format(new Date(iso))} ${timeZone}`;
}

/** "Peak speed", "75 km/h": a reading, one decimal at most. */
function peakLines(kind: string, peak: Record<string, number>): [string, string][] {
  const r = (v: number) => String(Math.round(v * 10) / 10);
  return Object.entries(peak).map(([k, v]): [string, string] =>
    k === "speedKmh"
      ? ["Peak speed", `${r(v)} km/h`]
      : [kind === "threshold" ? "Extreme value" : `Peak ${k}`, r(v)],
  );
}

const vehicleText = (id: string, name: string | null | undefined) => (name ? `${name} (${id})` : id);

function alertLines(a: AlertMessage, ctx: MailContext): [string, string][] {
  const lines: [string, string][] = [
    ["Rule", `${a.ruleName} (${a.kind})`],
    ["Vehicle", vehicleText(a.vehicleId, ctx.vehicleName)],
    ["Started", fleetTime(a.startedAt, ctx.timeZone)],
  ];
  if (a.endedAt) lines.push(["Ended", fleetTime(a.endedAt, ctx.timeZone)]);
  if (a.peak) lines.push(...peakLines(a.kind, a.peak));
  if (a.lat !== null && a.lng !== null) lines.push(["Position", `${a.lat}, ${a.lng}`]);
  lines.push(["Alert", `#${a.id}`]);
  return lines;
}

/**
 * Names, vehicle ids and rule names are user data: escaped in the HTML, and the subject is one line
 * (a newline could not add headers through nodemailer, but would garble it).
 */
export function renderMail(message: NotificationMessage, ctx: MailContext): RenderedMail {
  const [subject, intro, lines] =
    message.type === "test"
      ? [
          "Logitrack test notification",
          message.message,
          [["Sent", fleetTime(message.sentAt, ctx.timeZone)]] as [string, string][],
        ]
      : [
          `${message.ruleName}: ${vehicleText(message.vehicleId, ctx.vehicleName)} ${message.phase === "start" ? "started" : "ended"}`,
          message.phase === "start"
            ? `Alert: ${message.kind} started for vehicle ${vehicleText(message.vehicleId, ctx.vehicleName)}.`
            : `Alert over: ${message.kind} ended for vehicle ${vehicleText(message.vehicleId, ctx.vehicleName)}.`,
          alertLines(message, ctx),
        ];
  const text = [intro, "", ...lines.map(([k, v]) => `${k}: ${v}`), "", "-- Logitrack"].join("\n");
  const rows = lines
    .map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join("");
  const html = `<!doctype html><html><body><p>${escapeHtml(intro)}</p><table>${rows}</table><p>&mdash; Logitrack</p></body></html>`;
  return { subject: `[Logitrack] ${subject}`.replace(/[\r\n]+/g, " "), text, html };
}
