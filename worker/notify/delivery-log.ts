import type pg from "pg";
import type { LaneEntry } from "../../core/notifications.ts";
import type { SendOutcome } from "./outcome.ts";

export type DeliveryStatus = "ok" | "failed" | "dead";

/** One attempt into notification_deliveries; a dead letter keeps its message. */
export async function logAttempt(
  pool: pg.Pool,
  entry: LaneEntry,
  attempt: number,
  outcome: SendOutcome,
  status: DeliveryStatus,
): Promise<void> {
  await pool.query(
    `INSERT INTO notification_deliveries
       (channel_id, delivery_id, alert_id, phase, attempt, status, http_status, latency_ms, error, payload)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
     WHERE EXISTS (SELECT 1 FROM notification_channels WHERE id = $1)`,
    [
      entry.channelId,
      entry.deliveryId,
      entry.alertId,
      entry.phase,
      attempt,
      status,
      outcome.httpStatus ?? null,
      outcome.latencyMs,
      outcome.error?.slice(0, 1000) ?? null,
      status === "dead" ? JSON.stringify(entry.message) : null,
    ],
  );
}
