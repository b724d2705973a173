import type pg from "pg";
import { inQuietHours } from "../../core/alert-params.ts";
import type { AlertMessage, AlertRuleKind, QuietHours } from "../../core/alerts.ts";
import { queueAlertPhases } from "./queue-alert-phases.ts";

/**
 * Alert rules of kinds `offline` and `no_fix` ({minutes}), judged against the wall clock: no fix
 * ever arrives to end or start them, so the alert machine (alert-machine.ts) cannot. Run
 * periodically by the worker (worker/main.ts), one episode per silence:
 *
 * - offline: the vehicle is offline (vehicles.online, broker/presence-sweep.ts) since `last_seen_at`
 *   (the end of its last session), and `minutes` have passed. The episode starts then (confirmed
 *   `minutes` later) and ends at its next `online` presence event.
 * - no_fix: the vehicle is online and no fix was received (vehicle_state.last_received_at: stored,
 *   valid fixes only) since it came online or since its last fix, whichever is later, for
 *   `minutes`. It ends at the first fix received after its start, or when the vehicle goes offline
 *   (then it is an offline silence).
 *
 * An episode whose rule was deleted, disabled, changed kind or no longer covers the vehicle, or
 * whose vehicle was removed, ends now. Exactly once: the whole sweep is one transaction under an advisory lock, so a second sweep
 * (run twice, or by another worker) waits and then finds the episode open (or its silence already
 * had one) and adds nothing. Starts and ends go to alert_outbox in that transaction (the same
 * notifier as every alert, worker/alert-outbox.ts), as queue-alert-phases.ts says.
 */
export async function sweepPresenceAlerts(
  pool: pg.Pool,
  opts: { now: number; fleetTz: string },
): Promise<AlertMessage[]> {
  const now = new Date(opts.now);
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext('presence alerts'))");
    const ended = await client.query<Row>(
      `WITH ends AS (
         SELECT a.id, CASE
           WHEN r.id IS NULL OR NOT r.enabled OR r.kind <> a.kind OR NOT alert_scope_covers(r.scope, a.vehicle_id)
                OR NOT EXISTS (SELECT 1 FROM vehicles v WHERE v.id = a.vehicle_id) THEN $1::timestamptz
           WHEN a.kind = 'offline' THEN
             (SELECT min(p.at) FROM presence_events p
              WHERE p.vehicle_id = a.vehicle_id AND p.kind = 'online' AND p.at >= a.started_at)
           ELSE least(
             (SELECT min(p.at) FROM presence_events p
              WHERE p.vehicle_id = a.vehicle_id AND p.kind = 'offline' AND p.at >= a.started_at),
             (SELECT min(l.received_at) FROM vehicle_locations l
              WHERE l.vehicle_id = a.vehicle_id AND l.recorded_at > a.started_at - interval '1 day'
                AND l.received_at > a.started_at),
             (SELECT s.last_received_at FROM vehicle_state s
              WHERE s.vehicle_id = a.vehicle_id AND s.last_received_at > a.started_at))
           END AS at
         FROM alerts a LEFT JOIN alert_rules r ON r.id = a.rule_id
         WHERE a.ended_at IS NULL AND a.kind IN ('offline', 'no_fix')
       )
       UPDATE alerts a SET ended_at = greatest(ends.at, a.started_at), end_announced = true, updated_at = now()
       FROM ends WHERE a.id = ends.id AND ends.at IS NOT NULL
       RETURNING a.id::float8 AS id, a.rule_id::float8 AS "ruleId", a.rule_name AS "ruleName", a.kind,
                 a.vehicle_id AS "vehicleId", (extract(epoch FROM a.started_at) * 1000)::float8 AS "startedAt",
                 (extract(epoch FROM a.ended_at) * 1000)::float8 AS "endedAt", a.quiet, NULL AS "quietHours"`,
      [now],
    );
    const started = await client.query<Row & { confirmedAt: number }>(
      `SELECT r.id::float8 AS "ruleId", r.name AS "ruleName", r.kind, r.quiet_hours AS "quietHours",
              v.id AS "vehicleId", (extract(epoch FROM v.since) * 1000)::float8 AS "startedAt",
              (extract(epoch FROM v.since + (r.params->>'minutes')::int * interval '1 minute') * 1000)::float8
                AS "confirmedAt"
       FROM alert_rules r
       CROSS JOIN LATERAL (
         SELECT v.id, CASE WHEN r.kind = 'offline' THEN v.last_seen_at
                           ELSE greatest(v.online_since, s.last_received_at) END AS since
         FROM vehicles v LEFT JOIN vehicle_state s ON s.vehicle_id = v.id
         WHERE CASE WHEN r.kind = 'offline' THEN v.online = false ELSE v.online END
           AND alert_scope_covers(r.scope, v.id)
       ) v
       WHERE r.enabled AND r.kind IN ('offline', 'no_fix')
         AND v.since <= $1::timestamptz - (r.params->>'minutes')::int * interval '1 minute'
         AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.rule_id = r.id AND a.vehicle_id = v.id
                           AND (a.ended_at IS NULL OR a.started_at = v.since))
       ORDER BY v.id, v.since, r.id`,
      [now],
    );
    const messages: AlertMessage[] = ended.rows.map((row) => message(row, row.id, "end"));
    for (const row of started.rows) {
      const quiet = inQuietHours(row.quietHours, row.startedAt, opts.fleetTz);
      const r = await client.query<{ id: number }>(
        `INSERT INTO alerts (rule_id, rule_name, vehicle_id, kind, started_at, confirmed_at, quiet)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id::float8 AS id`,
        [
          row.ruleId,
          row.ruleName,
          row.vehicleId,
          row.kind,
          new Date(row.startedAt),
          new Date(row.confirmedAt),
          quiet,
        ],
      );
      messages.push(message({ ...row, quiet, endedAt: null }, (r.rows[0] as { id: number }).id, "start"));
    }
    await queueAlertPhases(client, messages);
    await client.query("COMMIT");
    return messages;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

interface Row {
  id: number;
  ruleId: number;
  ruleName: string;
  kind: AlertRuleKind;
  vehicleId: string;
  startedAt: number;
  endedAt: number | null;
  quiet: boolean;
  quietHours: QuietHours | null;
}

function message(row: Omit<Row, "id" | "quietHours">, id: number, phase: "start" | "end"): AlertMessage {
  return {
    type: "alert",
    id,
    phase,
    ruleId: row.ruleId,
    ruleName: row.ruleName,
    kind: row.kind,
    vehicleId: row.vehicleId,
    startedAt: new Date(row.startedAt).toISOString(),
    endedAt: row.endedAt === null ? null : new Date(row.endedAt).toISOString(),
    peak: null,
    lat: null,
    lng: null,
    quiet: row.quiet,
    late: false,
  };
}
