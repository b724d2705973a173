import { z } from "zod";
import { maskSecret, type NotificationChannel } from "../core/notification-channels.ts";

/** The shapes of /api/notification-channels (api/routes/notification-channels.ts). */
const name = z.string().trim().min(1).max(100);
const url = z.string().max(2048).describe("http(s); private addresses refused unless WEBHOOK_ALLOW_PRIVATE");
const secret = z
  .string()
  .min(16)
  .max(256)
  .describe(
    "HMAC-SHA256 key of X-Logitrack-Signature; generated when absent, shown in full only in this answer",
  );
const to = z.array(z.string().email().max(254)).min(1).max(20).describe("recipients");

export const channelIn = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("webhook"),
    name: name.optional(),
    url,
    secret: secret.optional(),
    enabled: z.boolean().default(true),
  }),
  z.strictObject({ kind: z.literal("email"), name: name.optional(), to, enabled: z.boolean().default(true) }),
]);

export const channelPatch = z.strictObject({
  name: name.optional(),
  url: url.optional().describe("webhook channels only"),
  secret: secret.optional().describe("webhook channels only: a new secret (rotation)"),
  to: to.optional().describe("e-mail channels only"),
  enabled: z.boolean().optional(),
});

export const channelOut = z.object({
  id: z.number().int(),
  name: z.string(),
  kind: z.enum(["webhook", "email"]),
  url: z.string().optional(),
  to: z.array(z.string()).optional(),
  secret: z.string().nullable().describe("masked (****abcd), except in the answer to its creation"),
  enabled: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const channelParams = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(2 ** 53),
});

export const deliveryOut = z.object({
  id: z.number().int().describe("the attempt"),
  deliveryId: z
    .string()
    .describe("the delivery (one message to this channel), the same on each of its attempts"),
  alertId: z.number().int().nullable(),
  phase: z.enum(["start", "end", "test"]),
  attempt: z.number().int(),
  status: z.enum(["ok", "failed", "dead"]).describe("failed: retried; dead: after the last attempt"),
  httpStatus: z.number().int().nullable(),
  latencyMs: z.number().int().nullable(),
  error: z.string().nullable(),
  at: z.string(),
  vehicleId: z.string().nullable().describe("the alert's vehicle (null for a test)"),
  vehicleName: z.string().nullable(),
  ruleName: z.string().nullable().describe("the alert's rule, as named when it started"),
});

export function toChannelOut(c: NotificationChannel, showSecret = false): z.infer<typeof channelOut> {
  return {
    id: c.id,
    name: c.name,
    kind: c.kind,
    ...(c.kind === "webhook" ? { url: c.config.url ?? "" } : { to: c.config.to ?? [] }),
    secret: showSecret ? c.secret : maskSecret(c.secret),
    enabled: c.enabled,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}
