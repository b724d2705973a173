import { randomBytes } from "node:crypto";
import type pg from "pg";

/**
 * Notification channels (sql/014_notifications.sql): a webhook (`config.url`, signed with
 * `secret`) or an e-mail list (`config.to`). The API writes them; the worker reads one per lane.
 */
export type ChannelKind = "webhook" | "email";

export interface NotificationChannel {
  id: number;
  name: string;
  kind: ChannelKind;
  config: { url?: string; to?: string[] };
  /** the webhook's HMAC secret, in full: never answered by the API (maskSecret) */
  secret: string | null;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

interface Row {
  id: string;
  name: string;
  kind: ChannelKind;
  config: { url?: string; to?: string[] };
  secret: string | null;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
}

export const CHANNEL_COLUMNS = "id, name, kind, config, secret, enabled, created_at, updated_at";

export function toChannel(row: Row): NotificationChannel {
  return {
    id: Number(row.id),
    name: row.name,
    kind: row.kind,
    config: row.config,
    secret: row.secret,
    enabled: row.enabled,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function getChannel(pool: pg.Pool, id: number): Promise<NotificationChannel | undefined> {
  const r = await pool.query<Row>(`SELECT ${CHANNEL_COLUMNS} FROM notification_channels WHERE id = $1`, [id]);
  return r.rows[0] && toChannel(r.rows[0]);
}

/** A new webhook secret, when the admin gives none: 192 random bits. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString("base64url")}`;
}

/** What the API shows of a secret: enough to tell two apart, not to sign. */
export function maskSecret(secret: string | null): string | null {
  return secret === null ? null : `****${secret.slice(-4)}`;
}
