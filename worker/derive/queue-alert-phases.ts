import type pg from "pg";
import type { AlertMessage } from "../../core/alerts.ts";

/**
 * Queues alert phases for the notifier (alert_outbox, drained by worker/alert-outbox.ts) in the
 * caller's transaction, in the given order, leaving out quiet phases, retractions, and the phases
 * of rules that name no notification channel (their channels as the rule is in this transaction):
 * the notifier sends only to channels, so such a row was written, drained and deleted for nothing
 * (with 100 busy rules without channels, a drain per batch). Returns how many rows were queued.
 */
export async function queueAlertPhases(
  client: pg.PoolClient,
  messages: readonly AlertMessage[],
  /** the rules with channels as the caller read them in this transaction (a statement saved) */
  hasChannels: (ruleId: number) => boolean = () => true,
): Promise<number> {
  const queued = messages.filter((m) => m.phase !== "retracted" && !m.quiet && hasChannels(m.ruleId));
  if (queued.length === 0) return 0;
  // the rows as one JSON text: each message as an array element of jsonb[] was quoted and escaped again
  const r = await client.query({
    name: "alert-outbox-insert",
    text: `INSERT INTO alert_outbox (alert_id, rule_id, message)
           SELECT u.a, u.r, u.m FROM json_to_recordset($1::json) AS u(i int, a bigint, r bigint, m jsonb)
           WHERE EXISTS (SELECT 1 FROM alert_rules r WHERE r.id = u.r AND cardinality(r.channel_ids) > 0)
           ORDER BY u.i`,
    values: [JSON.stringify(queued.map((m, i) => ({ i, a: m.id, r: m.ruleId, m })))],
  });
  return r.rowCount ?? 0;
}
