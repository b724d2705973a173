import { z } from "zod";
import { bool, positiveInt } from "./fields.ts";

/** Webhook channels: the API checks a URL when a channel is saved, the worker again at delivery. */
export const webhookVars = z.object({
  WEBHOOK_ALLOW_PRIVATE: bool
    .default(false)
    .describe(
      "allow webhook URLs that resolve to loopback, private, link-local or unique-local addresses (on-premise receivers, tests)",
    ),
});

/** The notifications queue's consumer (worker/notify/): retries, then a dead letter. */
export const notifyVars = z.object({
  NOTIFY_ATTEMPTS: positiveInt
    .max(100)
    .default(15)
    .describe(
      "attempts per notification before it is dead (status `dead` in the delivery log); with the defaults ~34 min of retries",
    ),
  NOTIFY_BACKOFF_MS: positiveInt
    .default(1000)
    .describe("delay after the first failed attempt, doubled after each"),
  NOTIFY_BACKOFF_CAP_MS: positiveInt.default(300_000).describe("longest delay between two attempts"),
  NOTIFY_CONCURRENCY: positiveInt
    .max(256)
    .default(8)
    .describe("(channel, vehicle) sequences a worker delivers at once; each is delivered in order"),
  WEBHOOK_TIMEOUT_MS: positiveInt
    .max(120_000)
    .default(10_000)
    .describe("a webhook that has not answered in this time has failed (retried)"),
});

export const smtpVars = z.object({
  SMTP_URL: z
    .string()
    .url()
    .optional()
    .describe(
      "e-mail channels: smtp:// or smtps:// URL of the SMTP server (user:pass@host:port); unset = no e-mail",
    ),
  SMTP_FROM: z.string().default("Logitrack <logitrack@localhost>").describe("From: of alert e-mails"),
});
