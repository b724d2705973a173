import http from "node:http";
import https from "node:https";
import type { NotificationMessage } from "../../core/notifications.ts";
import { guardedLookup, parseWebhookUrl, WebhookAddressError } from "../../core/webhook-address.ts";
import { DELIVERY_HEADER, SIGNATURE_HEADER, signatureHeader } from "../../core/webhook-signature.ts";
import type { SendOutcome } from "./outcome.ts";

export interface WebhookOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  /** the resolver behind the address check (default the system's, dns.lookup) */
  lookup?: Parameters<typeof guardedLookup>[0];
}

/**
 * POSTs a message as JSON, signed; a 2xx is delivered, anything else (a 3xx too: redirects are
 * not followed, they could lead anywhere) or no answer within the timeout is a failure to retry.
 * Unless private addresses are allowed, the connection goes to an address checked at this
 * connection (core/webhook-address.ts), so a DNS answer that changed since the channel was saved
 * cannot point it inside the network.
 */
export function createWebhookSender(opts: WebhookOptions) {
  // keep-alive: a lane's messages reuse the connection (checked when it was opened)
  const agents = {
    "http:": new http.Agent({ keepAlive: true, maxSockets: 64 }),
    "https:": new https.Agent({ keepAlive: true, maxSockets: 64 }),
  };
  const lookup = opts.allowPrivate ? undefined : guardedLookup(opts.lookup);

  async function send(
    target: { url: string; secret: string },
    deliveryId: string,
    message: NotificationMessage,
  ): Promise<SendOutcome> {
    const started = performance.now();
    const latencyMs = () => Math.round(performance.now() - started);
    let url: URL;
    try {
      url = parseWebhookUrl(target.url, opts.allowPrivate);
    } catch (err) {
      return { ok: false, latencyMs: 0, error: `refused: ${(err as Error).message}`, final: true };
    }
    const body = JSON.stringify(message);
    const client = url.protocol === "https:" ? https : http;
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = client.request(
          url,
          {
            method: "POST",
            agent: agents[url.protocol as "http:" | "https:"],
            ...(lookup ? { lookup } : {}),
            signal: AbortSignal.timeout(opts.timeoutMs),
            headers: {
              "content-type": "application/json",
              "content-length": Buffer.byteLength(body),
              "user-agent": "Logitrack-Webhook/1",
              [SIGNATURE_HEADER]: signatureHeader(target.secret, body),
              [DELIVERY_HEADER]: deliveryId,
            },
          },
          (res) => {
            // the answer's body is not needed: read and dropped so the connection can be reused
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
            res.on("error", reject);
          },
        );
        req.on("error", reject);
        req.end(body);
      });
      const ok = status >= 200 && status < 300;
      return { ok, httpStatus: status, latencyMs: latencyMs(), ...(ok ? {} : { error: `HTTP ${status}` }) };
    } catch (err) {
      const e = err as Error;
      if (e instanceof WebhookAddressError)
        return { ok: false, latencyMs: latencyMs(), error: `refused: ${e.message}`, final: true };
      const reason =
        e.name === "TimeoutError" || e.name === "AbortError"
          ? `no answer in ${opts.timeoutMs} ms`
          : e.message;
      return { ok: false, latencyMs: latencyMs(), error: reason };
    }
  }

  return {
    send,
    close() {
      for (const a of Object.values(agents)) a.destroy();
    },
  };
}

export type WebhookSender = ReturnType<typeof createWebhookSender>;
