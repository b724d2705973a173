import type pg from "pg";
import type { AlertMessage, AlertNotifier } from "../core/alerts.ts";
import type { Logger } from "../core/logger.ts";

/** Outbox rows handed to the notifier per call. */
const BATCH = 500;
/** How often pending rows are retried (a failed notifier, another process's rows). */
export const OUTBOX_SWEEP_MS = 5_000;

export interface AlertOutbox {
  /** drain now (after a batch committed announcements); coalesces with a drain in progress */
  kick(): void;
  /** stops the sweep and waits for a drain in progress */
  close(): Promise<void>;
}

/** The default notifier: nothing to tell (the notifications queue plugs in here). */
export const noNotifier: AlertNotifier = async () => {};

/**
 * Hands alert_outbox (sql/013_alerts.sql: the announcements a batch committed) to the notifier,
 * oldest first, and deletes each row only in the transaction that saw the notifier accept it: a
 * notifier that throws, or a worker that dies between COMMIT and the hand-over, leaves the rows
 * for the next drain (kicked by every batch with announcements, and a sweep every
 * OUTBOX_SWEEP_MS), so the notifier hears of each phase at least once. One drain at a time over
 * every worker process (an advisory lock), so the notifier gets a vehicle's phases in order.
 */
export function startAlertOutbox(deps: {
  pool: pg.Pool;
  notify: AlertNotifier;
  log: Logger;
  onFailure?: () => void;
  sweepMs?: number;
}): AlertOutbox {
  const { pool, notify, log } = deps;
  let running: Promise<void> | null = null;
  let again = false;

  async function drainOnce(): Promise<boolean> {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const lock = await client.query<{ ok: boolean }>(
        "SELECT pg_try_advisory_xact_lock(hashtext('alert outbox')) AS ok",
      );
      if (!lock.rows[0]?.ok) {
        await client.query("COMMIT");
        return false;
      }
      const r = await client.query<{ id: number; message: AlertMessage; channelIds: number[] }>(
        `SELECT o.id::float8 AS id, o.message, COALESCE(r.channel_ids, '{}')::float8[] AS "channelIds"
         FROM alert_outbox o LEFT JOIN alert_rules r ON r.id = o.rule_id ORDER BY o.id LIMIT $1`,
        [BATCH],
      );
      if (r.rows.length > 0) {
        await notify(r.rows.map((row) => ({ alert: row.message, channelIds: row.channelIds })));
        await client.query("DELETE FROM alert_outbox WHERE id = ANY($1::bigint[])", [
          r.rows.map((row) => row.id),
        ]);
      }
      await client.query("COMMIT");
      return r.rows.length === BATCH;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  function kick(): void {
    again = true;
    if (running) return;
    running = (async () => {
      while (again) {
        again = false;
        try {
          if (await drainOnce()) again = true;
        } catch (err) {
          deps.onFailure?.();
          log.warn({ err }, "alert notifier failed; the alerts stay in the outbox and are retried");
        }
      }
    })().finally(() => {
      running = null;
    });
  }

  const timer = setInterval(kick, deps.sweepMs ?? OUTBOX_SWEEP_MS);
  timer.unref();
  return {
    kick,
    async close() {
      clearInterval(timer);
      again = false;
      await running;
    },
  };
}
