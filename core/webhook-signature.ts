import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Webhook signatures, as Stripe's: `X-Logitrack-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(
 * secret, t + "." + body)>`. The receiver recomputes it over the raw body it received and refuses a
 * `t` too far from its clock (a replay).
 */
export const SIGNATURE_HEADER = "x-logitrack-signature";
/** names the delivery (one message to one channel): the same on every retry, for receivers to dedupe */
export const DELIVERY_HEADER = "x-logitrack-delivery";

const hmac = (secret: string, t: number, body: string) =>
  createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");

export function signatureHeader(secret: string, body: string, t = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${hmac(secret, t, body)}`;
}

/** A receiver's check: the signature matches and `t` is within `toleranceS` of `nowS`. */
export function verifySignature(
  header: string,
  secret: string,
  body: string,
  toleranceS = 300,
  nowS = Math.floor(Date.now() / 1000),
): boolean {
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const t = Number(m[1]);
  if (Math.abs(nowS - t) > toleranceS) return false;
  return timingSafeEqual(Buffer.from(hmac(secret, t, body), "hex"), Buffer.from(m[2] as string, "hex"));
}
