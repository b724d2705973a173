import type pg from "pg";
import type { AlertMessage } from "../../core/alerts.ts";

/**
 * Alert rules straight into the database, dated 30 days back: a rule judges only fixes recorded
 * after its creation (sql/013_alerts.sql), and the tests' fixes are hours old.
 */
export async function addRule(
  pool: pg.Pool,
  rule: {
    name: string;
    kind: string;
    params: object;
    scope?: object;
    quietHours?: object;
    channelIds?: number[];
  },
): Promise<number> {
  const r = await pool.query<{ id: number }>(
    `INSERT INTO alert_rules (name, kind, params, scope, quiet_hours, channel_ids, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() - interval '30 days', now() - interval '30 days') RETURNING id::int`,
    [
      rule.name,
      rule.kind,
      JSON.stringify(rule.params),
      JSON.stringify(rule.scope ?? { kind: "fleet" }),
      rule.quietHours ? JSON.stringify(rule.quietHours) : null,
      rule.channelIds ?? [],
    ],
  );
  return r.rows[0]?.id as number;
}

export interface AlertRow {
  id: number;
  startedAt: number;
  endedAt: number | null;
  peak: Record<string, number> | null;
  quiet: boolean;
}

/** A vehicle group; returns its id. */
export async function addGroup(pool: pg.Pool, name: string): Promise<number> {
  const r = await pool.query<{ id: number }>(
    "INSERT INTO vehicle_groups (name) VALUES ($1) RETURNING id::int",
    [name],
  );
  return r.rows[0]?.id as number;
}

export async function alertsOf(pool: pg.Pool, vehicleId: string, ruleId: number): Promise<AlertRow[]> {
  const r = await pool.query<AlertRow>(
    `SELECT id::int, (extract(epoch FROM started_at) * 1000)::float8 AS "startedAt",
            (extract(epoch FROM ended_at) * 1000)::float8 AS "endedAt", peak, quiet
     FROM alerts WHERE vehicle_id = $1 AND rule_id = $2 ORDER BY started_at`,
    [vehicleId, ruleId],
  );
  return r.rows;
}

/** A notifier that records what it is handed; `failNext` makes its next calls throw. */
export function recordingNotifier() {
  const seen: { alert: AlertMessage; channelIds: number[] }[] = [];
  const state = { failNext: 0, calls: 0 };
  return {
    seen,
    state,
    notify: async (items: { alert: AlertMessage; channelIds: number[] }[]) => {
      state.calls++;
      if (state.failNext > 0) {
        state.failNext--;
        throw new Error("notifier down");
      }
      seen.push(...items);
    },
    of: (vehicleId: string) => seen.filter((i) => i.alert.vehicleId === vehicleId),
  };
}
