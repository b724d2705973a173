import nodemailer from "nodemailer";
import type { NotificationMessage } from "../../core/notifications.ts";
import type { SendOutcome } from "./outcome.ts";
import { renderMail } from "./templates.ts";

export interface MailOptions {
  /** SMTP_URL: smtp://user:pass@host:587 or smtps://…:465; unset = e-mail channels are dead letters */
  smtpUrl: string | undefined;
  from: string;
  timeoutMs: number;
  /** FLEET_TZ: the times the mail shows */
  timeZone: string;
}

/** E-mail channels through one pooled SMTP transport (nodemailer). */
export function createMailSender(opts: MailOptions) {
  const transport = opts.smtpUrl
    ? nodemailer.createTransport({
        url: opts.smtpUrl,
        connectionTimeout: opts.timeoutMs,
        greetingTimeout: opts.timeoutMs,
        socketTimeout: opts.timeoutMs,
      })
    : undefined;

  async function send(
    to: string[],
    message: NotificationMessage,
    vehicleName?: string | null,
  ): Promise<SendOutcome> {
    if (!transport) return { ok: false, latencyMs: 0, error: "SMTP_URL is not set", final: true };
    const started = performance.now();
    const mail = renderMail(message, { timeZone: opts.timeZone, vehicleName });
    try {
      const info = await transport.sendMail({ from: opts.from, to, ...mail });
      const latencyMs = Math.round(performance.now() - started);
      // the server took it for some recipients only: the others are not retried (they would be sent twice to the rest)
      return info.rejected.length > 0
        ? { ok: true, latencyMs, error: `refused for ${info.rejected.length} recipient(s)` }
        : { ok: true, latencyMs };
    } catch (err) {
      return { ok: false, latencyMs: Math.round(performance.now() - started), error: (err as Error).message };
    }
  }

  return {
    send,
    close() {
      transport?.close();
    },
  };
}

export type MailSender = ReturnType<typeof createMailSender>;
