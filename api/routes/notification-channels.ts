import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import {
  CHANNEL_COLUMNS,
  generateWebhookSecret,
  getChannel,
  toChannel,
} from "../../core/notification-channels.ts";
import type { NotificationQueue } from "../../core/notifications.ts";
import { checkWebhookUrl, WebhookAddressError } from "../../core/webhook-address.ts";
import { errorSchema, sendError } from "../errors.ts";
import {
  channelIn,
  channelOut,
  channelParams,
  channelPatch,
  deliveryOut,
  toChannelOut,
} from "../notification-channel-schemas.ts";
import { idCursor, pageQuery, pageSchema, toPage } from "../pagination.ts";

const tags = ["notifications"];
type Reply = Parameters<typeof sendError>[0];

/**
 * Notification channels: webhooks and e-mail lists that alert rules name (`channelIds`). Admins
 * write, viewers read; a webhook's secret is answered in full once, at creation, then masked.
 */
/** "send test" requests a channel takes a minute, whoever sends them */
export const TEST_SENDS_PER_MINUTE = 6;
const testRateLimit = {
  max: TEST_SENDS_PER_MINUTE,
  timeWindow: 60_000,
  // the id as a number: `/01/test` is channel 1 too once validated, so it shares channel 1's count
  keyGenerator: (req: { params: unknown }) => `channel-test:${Number((req.params as { id?: unknown }).id)}`,
};

export function notificationChannelRoutes(deps: {
  pool: pg.Pool;
  config: Pick<Config, "WEBHOOK_ALLOW_PRIVATE">;
  /** "send test" enqueues here; without it that route answers 503 */
  notifications?: NotificationQueue;
}): FastifyPluginAsyncZod {
  const { pool, config } = deps;
  const notFound = (reply: Reply, id: number) =>
    sendError(reply, "E_NOT_FOUND", `no notification channel ${id}`);
  /** true when the URL was refused (the 400 is sent); a boolean, as a reply is a thenable */
  const refusedUrl = async (reply: Reply, url: string): Promise<boolean> => {
    try {
      await checkWebhookUrl(url, config.WEBHOOK_ALLOW_PRIVATE);
      return false;
    } catch (err) {
      if (!(err instanceof WebhookAddressError)) throw err;
      reply.log.info({ reason: err.message }, "webhook URL refused");
      sendError(reply, "E_VALIDATION", `body.url: ${err.message}`, {
        field: "body.url",
        reason: err.message,
      });
      return true;
    }
  };

  return async (app) => {
    app.get(
      "/api/notification-channels",
      {
        config: { access: "read", vehicles: "fleet" },
        schema: {
          tags,
          summary: "notification channels by id, secrets masked",
          querystring: pageQuery(1000, 100, idCursor),
          response: { 200: pageSchema(channelOut), 400: errorSchema },
        },
      },
      async (req) => {
        const { limit, cursor } = req.query;
        const r = await pool.query(
          `SELECT ${CHANNEL_COLUMNS} FROM notification_channels WHERE id > $1 ORDER BY id LIMIT $2`,
          [cursor ?? 0, limit + 1],
        );
        const page = toPage(r.rows.map(toChannel), limit, (last) => String(last.id));
        return { items: page.items.map((c) => toChannelOut(c)), nextCursor: page.nextCursor };
      },
    );

    app.get(
      "/api/notification-channels/:id",
      {
        config: { access: "read", vehicles: "fleet" },
        schema: {
          tags,
          params: channelParams,
          response: { 200: channelOut, 400: errorSchema, 404: errorSchema },
        },
      },
      async (req, reply) => {
        const c = await getChannel(pool, req.params.id);
        return c ? toChannelOut(c) : notFound(reply, req.params.id);
      },
    );

    app.post(
      "/api/notification-channels",
      {
        config: { access: "write" },
        schema: {
          tags,
          summary: "create a webhook ({kind, url, secret?}) or e-mail ({kind, to}) channel",
          body: channelIn,
          response: { 201: channelOut, 400: errorSchema },
        },
      },
      async (req, reply) => {
        const b = req.body;
        if (b.kind === "webhook" && (await refusedUrl(reply, b.url))) return reply;
        const [config, secret, fallbackName] =
          b.kind === "webhook"
            ? [{ url: b.url }, b.secret ?? generateWebhookSecret(), new URL(b.url).host]
            : [{ to: b.to }, null, b.to.join(", ").slice(0, 100)];
        const r = await pool.query(
          `INSERT INTO notification_channels (name, kind, config, secret, enabled)
           VALUES ($1, $2, $3, $4, $5) RETURNING ${CHANNEL_COLUMNS}`,
          [b.name ?? fallbackName, b.kind, JSON.stringify(config), secret, b.enabled],
        );
        const c = toChannel(r.rows[0]);
        req.log.info(
          { channelId: c.id, kind: c.kind, by: req.principal?.name },
          "notification channel created",
        );
        reply.code(201).header("location", `/api/notification-channels/${c.id}`);
        return toChannelOut(c, true);
      },
    );

    app.patch(
      "/api/notification-channels/:id",
      {
        config: { access: "write" },
        schema: {
          tags,
          summary: "change a channel's name, URL or recipients, secret, or enabled",
          params: channelParams,
          body: channelPatch,
          response: { 200: channelOut, 400: errorSchema, 404: errorSchema },
        },
      },
      async (req, reply) => {
        const c = await getChannel(pool, req.params.id);
        if (!c) return notFound(reply, req.params.id);
        const b = req.body;
        const foreign =
          c.kind === "webhook" ? (b.to ? "to" : undefined) : b.url ? "url" : b.secret ? "secret" : undefined;
        if (foreign)
          return sendError(reply, "E_VALIDATION", `body.${foreign}: not a field of a ${c.kind} channel`, {
            field: `body.${foreign}`,
          });
        if (b.url !== undefined && (await refusedUrl(reply, b.url))) return reply;
        const config = c.kind === "webhook" ? { url: b.url ?? c.config.url } : { to: b.to ?? c.config.to };
        const r = await pool.query(
          `UPDATE notification_channels SET name = $2, config = $3, secret = $4, enabled = $5, updated_at = now()
           WHERE id = $1 RETURNING ${CHANNEL_COLUMNS}`,
          [c.id, b.name ?? c.name, JSON.stringify(config), b.secret ?? c.secret, b.enabled ?? c.enabled],
        );
        if (!r.rows[0]) return notFound(reply, c.id);
        req.log.info(
          { channelId: c.id, by: req.principal?.name, fields: Object.keys(b) },
          "notification channel changed",
        );
        return toChannelOut(toChannel(r.rows[0]));
      },
    );

    app.delete(
      "/api/notification-channels/:id",
      {
        config: { access: "write" },
        schema: {
          tags,
          summary: "delete a channel, its queued messages and its delivery log (refused while rules use it)",
          params: channelParams,
          response: {
            204: z.null().describe("removed"),
            400: errorSchema,
            404: errorSchema,
            409: errorSchema,
          },
        },
      },
      async (req, reply) => {
        // refused while rules name it: removing it from them silently would leave rules that no longer
        // notify anyone without their owners changing them (each rule edit is versioned and audited)
        const users = await pool.query<{ name: string }>(
          "SELECT name FROM alert_rules WHERE $1::bigint = ANY(channel_ids) ORDER BY id",
          [req.params.id],
        );
        if (users.rows.length > 0) {
          const names = users.rows.map((u) => `"${u.name}"`).join(", ");
          return sendError(
            reply,
            "E_IN_USE",
            `channel ${req.params.id} is used by alert rules ${names}: remove it from them first`,
            { rules: users.rows.map((u) => u.name) },
          );
        }
        const r = await pool.query("DELETE FROM notification_channels WHERE id = $1", [req.params.id]);
        if (r.rowCount === 0) return notFound(reply, req.params.id);
        req.log.info({ channelId: req.params.id, by: req.principal?.name }, "notification channel deleted");
        return reply.code(204).send(null);
      },
    );

    app.post(
      "/api/notification-channels/:id/test",
      {
        // each test is a real request to the channel's receiver: a write account must not be able
        // to turn Logitrack into a request flood against it (counted per channel, across replicas)
        config: { access: "write", rateLimit: testRateLimit, rateLimitShared: true },
        schema: {
          tags,
          summary: "send test: queues a test message to the channel (even when disabled); see its deliveries",
          params: channelParams,
          response: {
            202: z.object({ deliveryId: z.string() }),
            400: errorSchema,
            404: errorSchema,
            429: errorSchema,
            503: errorSchema,
          },
        },
      },
      async (req, reply) => {
        if (!deps.notifications)
          return sendError(reply, "E_UNAVAILABLE", "the notifications queue is not configured");
        const c = await getChannel(pool, req.params.id);
        if (!c) return notFound(reply, req.params.id);
        const deliveryId = await deps.notifications.enqueueTest(c.id);
        return reply.code(202).send({ deliveryId });
      },
    );

    app.get(
      "/api/notification-channels/:id/deliveries",
      {
        config: { access: "read", vehicles: "fleet" },
        schema: {
          tags,
          summary: "a channel's delivery log: one row per attempt, newest first",
          params: channelParams,
          querystring: pageQuery(1000, 100, idCursor).extend({
            deliveryId: z.string().max(100).optional().describe("one delivery's attempts"),
            status: z.enum(["ok", "failed", "dead"]).optional().describe("only attempts with this outcome"),
          }),
          response: { 200: pageSchema(deliveryOut), 400: errorSchema, 404: errorSchema },
        },
      },
      async (req, reply) => {
        const { limit, cursor, deliveryId, status } = req.query;
        const exists = await pool.query("SELECT 1 FROM notification_channels WHERE id = $1", [req.params.id]);
        if (exists.rowCount === 0) return notFound(reply, req.params.id);
        const r = await pool.query<z.infer<typeof deliveryOut>>(
          `SELECT d.id::float8 AS id, d.delivery_id AS "deliveryId", d.alert_id::float8 AS "alertId", d.phase,
                  d.attempt, d.status, d.http_status AS "httpStatus", d.latency_ms AS "latencyMs", d.error,
                  to_char(d.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at,
                  COALESCE(a.vehicle_id, d.payload->>'vehicleId') AS "vehicleId", v.name AS "vehicleName",
                  COALESCE(a.rule_name, d.payload->>'ruleName') AS "ruleName"
           FROM notification_deliveries d
           LEFT JOIN alerts a ON a.id = d.alert_id
           LEFT JOIN vehicles v ON v.id = COALESCE(a.vehicle_id, d.payload->>'vehicleId')
           WHERE d.channel_id = $1 AND ($2::bigint IS NULL OR d.id < $2) AND ($3::text IS NULL OR d.delivery_id = $3)
             AND ($5::text IS NULL OR d.status = $5)
           ORDER BY d.id DESC LIMIT $4`,
          [req.params.id, cursor ?? null, deliveryId ?? null, limit + 1, status ?? null],
        );
        return toPage(r.rows, limit, (last) => String(last.id));
      },
    );
  };
}
