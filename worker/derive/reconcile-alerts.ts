import type pg from "pg";
import type { AlertMessage, AlertRuleKind } from "../../core/alerts.ts";
import type { EpisodeOut } from "./alert-machine.ts";
import { queueAlertPhases } from "./queue-alert-phases.ts";
import { MS, TS } from "./sql-time.ts";

export interface AlertRun {
  vehicleId: string;
  /** the run re-derived every episode settled after this (null = all of them) */
  since: number | null;
  replaces: boolean;
  /** what the machine emitted, in order; an episode may appear more than once (paged runs): the last wins */
  alerts: EpisodeOut[];
}

interface Stored {
  id: number;
  ruleId: number;
  vehicleId: string;
  startedAt: number;
  endedAt: number | null;
  endAnnounced: boolean;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
/** one decimal, as people read a peak */
const round1 = (v: number) => Math.round(v * 10) / 10;
const overlaps = (a0: number, a1: number | null, b0: number, b1: number | null) =>
  a0 <= (b1 ?? Infinity) && b0 <= (a1 ?? Infinity);
const instant = (kind: AlertRuleKind) => kind === "geofence_enter" || kind === "geofence_exit";

/**
 * Makes `alerts` hold the episodes the runs derived, and queues their announcements. The stored
 * episodes a run re-derived (settled after its `since`: ended or confirmed after it, or still
 * open) are matched with the run's, per rule: first by start, then by overlapping time, so an
 * episode whose start a late fix moved earlier, or whose end a late fix moved, stays the same row
 * (same id, not announced again). A new episode is inserted and announced (`start`, and `end` if
 * it already ended); a stored open one that the run ends is announced `end` once (end_announced);
 * a stored one the run no longer gives (late fixes proved it false) is deleted and announced
 * `retracted`. With `notify`, announcements go to alert_outbox in this transaction as
 * queue-alert-phases.ts says (a recompute does not notify); a function says which rules have
 * channels, so a batch with none to notify skips the statement. Offline and no_fix episodes are the
 * wall-clock sweep's (presence-alerts.ts), not derived from fixes: a run never touches them.
 * Returns every announcement, per vehicle in event time, for the events channel, and how many
 * were queued for the notifier.
 */
export async function reconcileAlerts(
  client: pg.PoolClient,
  runs: readonly AlertRun[],
  replayed: ReadonlySet<string>,
  notify: boolean | ((ruleId: number) => boolean),
): Promise<{ messages: AlertMessage[]; queued: number }> {
  const todo = runs.filter((r) => r.replaces || r.alerts.length > 0);
  if (todo.length === 0) return { messages: [], queued: 0 };
  const produced = new Map<string, EpisodeOut & { vehicleId: string }>();
  for (const run of todo)
    for (const e of run.alerts)
      produced.set(`${run.vehicleId}\u0000${e.ruleId}\u0000${e.start.t}`, { ...e, vehicleId: run.vehicleId });
  const wanted = [...produced.values()];
  const stored = await client.query<Stored>({
    name: "alerts-affected",
    text: `SELECT a.id::float8 AS id, a.rule_id::float8 AS "ruleId", a.vehicle_id AS "vehicleId",
                  ${MS("a.started_at")} AS "startedAt", ${MS("a.ended_at")} AS "endedAt", a.end_announced AS "endAnnounced"
           FROM unnest($1::text[], $2::bigint[]) AS u(v, since)
           CROSS JOIN LATERAL (
             SELECT * FROM alerts WHERE vehicle_id = u.v AND (u.since IS NULL OR settled_at > ${TS("u.since")})
               AND kind NOT IN ('offline', 'no_fix') OFFSET 0
           ) a
           UNION
           SELECT a.id::float8, a.rule_id::float8, a.vehicle_id, ${MS("a.started_at")}, ${MS("a.ended_at")}, a.end_announced
           FROM unnest($3::text[], $4::bigint[], $5::bigint[]) AS k(v, r, s)
           JOIN alerts a ON a.vehicle_id = k.v AND a.rule_id = k.r AND a.started_at = ${TS("k.s")}`,
    values: [
      todo.map((r) => r.vehicleId),
      todo.map((r) => r.since),
      wanted.map((e) => e.vehicleId),
      wanted.map((e) => e.ruleId),
      wanted.map((e) => e.start.t),
    ],
  });

  // match per (vehicle, rule): same start first, then the earliest overlapping one
  const open = new Map<string, Stored[]>();
  for (const s of stored.rows.sort((a, b) => a.startedAt - b.startedAt)) {
    const k = `${s.vehicleId}\u0000${s.ruleId}`;
    open.set(k, [...(open.get(k) ?? []), s]);
  }
  const matched = new Map<EpisodeOut, Stored>();
  const take = (e: EpisodeOut & { vehicleId: string }, pick: (s: Stored) => boolean) => {
    const list = open.get(`${e.vehicleId}\u0000${e.ruleId}`) ?? [];
    const i = list.findIndex(pick);
    if (i >= 0) matched.set(e, list.splice(i, 1)[0] as Stored);
  };
  const byStart = wanted.sort((a, b) => a.start.t - b.start.t);
  for (const e of byStart) take(e, (s) => s.startedAt === e.start.t);
  for (const e of byStart)
    if (!matched.has(e)) take(e, (s) => overlaps(s.startedAt, s.endedAt, e.start.t, e.endedAt));
  const retracted = [...open.values()].flat();

  const messages: AlertMessage[] = [];
  const message = (
    e: EpisodeOut & { vehicleId: string },
    id: number,
    phase: "start" | "end",
  ): AlertMessage => ({
    type: "alert",
    id,
    phase,
    ruleId: e.ruleId,
    ruleName: e.ruleName,
    kind: e.kind,
    vehicleId: e.vehicleId,
    startedAt: iso(e.start.t) as string,
    endedAt: iso(e.endedAt),
    // one decimal: a float4 speed reads 88.9000015258789 otherwise
    peak:
      e.peak === null
        ? null
        : e.kind === "speeding"
          ? { speedKmh: round1(e.peak) }
          : { value: round1(e.peak) },
    lat: e.start.lat,
    lng: e.start.lng,
    quiet: e.quiet,
    late: replayed.has(e.vehicleId),
  });

  if (retracted.length > 0) {
    const r = await client.query<AlertMessage>({
      name: "alerts-retract",
      text: `DELETE FROM alerts WHERE id = ANY($1::bigint[])
             RETURNING 'alert' AS type, id::float8 AS id, 'retracted' AS phase, rule_id::float8 AS "ruleId",
                       rule_name AS "ruleName", kind, vehicle_id AS "vehicleId",
                       to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "startedAt",
                       to_char(ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "endedAt",
                       peak, lat, lng, quiet, true AS late`,
      values: [retracted.map((s) => s.id)],
    });
    messages.push(...r.rows);
  }

  const updates: { id: number; e: EpisodeOut; endAnnounced: boolean }[] = [];
  for (const [e, s] of matched) {
    const ends = !instant(e.kind) && e.endedAt !== null && s.endedAt === null && !s.endAnnounced;
    if (ends) messages.push(message(e as EpisodeOut & { vehicleId: string }, s.id, "end"));
    updates.push({ id: s.id, e, endAnnounced: s.endAnnounced || ends });
  }
  if (updates.length > 0) {
    await client.query({
      name: "alerts-update",
      text: `UPDATE alerts a SET started_at = ${TS("u.s")}, ended_at = ${TS("u.e")}, confirmed_at = ${TS("u.c")},
               peak = u.peak, lat = u.lat, lng = u.lng, quiet = u.q, end_announced = u.ea, rule_name = u.n,
               updated_at = now()
             FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::jsonb[], $6::float8[],
                         $7::float8[], $8::boolean[], $9::boolean[], $10::text[])
               AS u(id, s, e, c, peak, lat, lng, q, ea, n)
             WHERE a.id = u.id
               AND (a.started_at, a.ended_at, a.confirmed_at, a.peak, a.quiet, a.end_announced)
                   IS DISTINCT FROM (${TS("u.s")}, ${TS("u.e")}, ${TS("u.c")}, u.peak, u.q, u.ea)`,
      values: [
        updates.map((u) => u.id),
        updates.map((u) => u.e.start.t),
        updates.map((u) => u.e.endedAt),
        updates.map((u) => u.e.confirmedAt),
        updates.map((u) =>
          JSON.stringify(message(u.e as EpisodeOut & { vehicleId: string }, 0, "start").peak),
        ),
        updates.map((u) => u.e.start.lat),
        updates.map((u) => u.e.start.lng),
        updates.map((u) => u.e.quiet),
        updates.map((u) => u.endAnnounced),
        updates.map((u) => u.e.ruleName),
      ],
    });
  }

  const fresh = byStart.filter((e) => !matched.has(e));
  if (fresh.length > 0) {
    const r = await client.query<{ id: number }>({
      name: "alerts-insert",
      text: `INSERT INTO alerts (rule_id, rule_name, vehicle_id, kind, started_at, ended_at, confirmed_at, peak, lat, lng,
                                 quiet, end_announced)
             SELECT u.r, u.n, u.v, u.k, ${TS("u.s")}, ${TS("u.e")}, ${TS("u.c")}, u.peak, u.lat, u.lng, u.q, u.ea
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[],
                         $8::jsonb[], $9::float8[], $10::float8[], $11::boolean[], $12::boolean[])
               WITH ORDINALITY AS u(r, n, v, k, s, e, c, peak, lat, lng, q, ea, i)
             ORDER BY u.i
             RETURNING id::float8 AS id`,
      values: [
        fresh.map((e) => e.ruleId),
        fresh.map((e) => e.ruleName),
        fresh.map((e) => e.vehicleId),
        fresh.map((e) => e.kind),
        fresh.map((e) => e.start.t),
        fresh.map((e) => e.endedAt),
        fresh.map((e) => e.confirmedAt),
        fresh.map((e) => JSON.stringify(message(e, 0, "start").peak)),
        fresh.map((e) => e.start.lat),
        fresh.map((e) => e.start.lng),
        fresh.map((e) => e.quiet),
        fresh.map((e) => !instant(e.kind) && e.endedAt !== null),
      ],
    });
    fresh.forEach((e, i) => {
      const id = (r.rows[i] as { id: number }).id;
      messages.push(message(e, id, "start"));
      if (!instant(e.kind) && e.endedAt !== null) messages.push(message(e, id, "end"));
    });
  }

  const timeOf = (m: AlertMessage) => Date.parse(m.phase === "end" ? (m.endedAt as string) : m.startedAt);
  messages.sort((a, b) =>
    a.vehicleId === b.vehicleId ? timeOf(a) - timeOf(b) || a.id - b.id : a.vehicleId < b.vehicleId ? -1 : 1,
  );
  const queued = notify ? await queueAlertPhases(client, messages, notify === true ? undefined : notify) : 0;
  return { messages, queued };
}
