import type pg from "pg";
import type { AlertMessage, AlertRuleKind } from "../../core/alerts.ts";
import { sqlArray } from "../../core/sql-array.ts";
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
  confirmedAt: number;
  peak: AlertMessage["peak"];
  quiet: boolean;
  endAnnounced: boolean;
}

/** ISO-8601 of epoch ms, memoized for one call: the episodes a fix confirms share its time */
function isoMemo(): (t: number | null) => string | null {
  const seen = new Map<number, string>();
  return (t) => {
    if (t === null) return null;
    let s = seen.get(t);
    if (s === undefined) {
      s = new Date(t).toISOString();
      seen.set(t, s);
    }
    return s;
  };
}
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
  const produced = new Map<string, Wanted>();
  for (const run of todo)
    for (const e of run.alerts)
      produced.set(`${run.vehicleId}\u0000${e.ruleId}\u0000${e.start.t}`, wantedOf(e, run.vehicleId));
  const wanted = [...produced.values()];
  // the keys as arrays: a multi-array unnest is planned as 10 rows (an index probe each), where
  // json_to_recordset is planned as 100 and made the join a scan of the whole table
  const stored = await client.query<Stored>({
    name: "alerts-affected",
    text: `SELECT a.id::float8 AS id, a.rule_id::float8 AS "ruleId", a.vehicle_id AS "vehicleId",
                  ${MS("a.started_at")} AS "startedAt", ${MS("a.ended_at")} AS "endedAt",
                  ${MS("a.confirmed_at")} AS "confirmedAt", a.peak, a.quiet, a.end_announced AS "endAnnounced"
           FROM unnest($1::text[], $2::bigint[]) AS u(v, since)
           CROSS JOIN LATERAL (
             SELECT * FROM alerts WHERE vehicle_id = u.v AND (u.since IS NULL OR settled_at > ${TS("u.since")})
               AND kind NOT IN ('offline', 'no_fix') OFFSET 0
           ) a
           UNION
           SELECT a.id::float8, a.rule_id::float8, a.vehicle_id, ${MS("a.started_at")}, ${MS("a.ended_at")},
                  ${MS("a.confirmed_at")}, a.peak, a.quiet, a.end_announced
           FROM unnest($3::text[], $4::bigint[], $5::bigint[]) AS k(v, r, s)
           JOIN alerts a ON a.vehicle_id = k.v AND a.rule_id = k.r AND a.started_at = ${TS("k.s")}`,
    values: [
      sqlArray(todo.map((r) => r.vehicleId)),
      sqlArray(todo.map((r) => r.since)),
      sqlArray(wanted.map((e) => e.vehicleId)),
      sqlArray(wanted.map((e) => e.ruleId)),
      sqlArray(wanted.map((e) => e.start.t)),
    ],
  });

  // match per (vehicle, rule): same start first, then the earliest overlapping one
  const open = new Map<string, Stored[]>();
  for (const s of stored.rows.sort((a, b) => a.startedAt - b.startedAt)) {
    const k = `${s.vehicleId}\u0000${s.ruleId}`;
    const list = open.get(k);
    if (list) list.push(s);
    else open.set(k, [s]);
  }
  const matched = new Map<Wanted, Stored>();
  const take = (e: Wanted, pick: (s: Stored) => boolean) => {
    const list = open.get(`${e.vehicleId}\u0000${e.ruleId}`);
    const i = list ? list.findIndex(pick) : -1;
    if (i >= 0) matched.set(e, (list as Stored[]).splice(i, 1)[0] as Stored);
  };
  const byStart = wanted.sort((a, b) => a.start.t - b.start.t);
  for (const e of byStart) take(e, (s) => s.startedAt === e.start.t);
  for (const e of byStart)
    if (!matched.has(e)) take(e, (s) => overlaps(s.startedAt, s.endedAt, e.start.t, e.endedAt));
  const retracted = [...open.values()].flat();

  // each announcement with its event time (ms), for the order below
  const out: { m: AlertMessage; t: number }[] = [];
  const iso = isoMemo();
  const announce = (e: Wanted, id: number, phase: "start" | "end") =>
    out.push({
      m: message(e, id, phase, replayed.has(e.vehicleId), iso),
      t: phase === "end" ? (e.endedAt as number) : e.start.t,
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
      values: [sqlArray(retracted.map((s) => s.id))],
    });
    for (const m of r.rows) out.push({ m, t: Date.parse(m.startedAt) });
  }

  const updates: { id: number; e: Wanted; endAnnounced: boolean }[] = [];
  for (const [e, s] of matched) {
    const ends = !instant(e.kind) && e.endedAt !== null && s.endedAt === null && !s.endAnnounced;
    if (ends) announce(e, s.id, "end");
    const endAnnounced = s.endAnnounced || ends;
    // most batches re-derive open episodes unchanged: only those that differ are written (the
    // columns the stored row was read with; lat, lng and the rule's name follow the others)
    if (
      s.startedAt !== e.start.t ||
      s.endedAt !== e.endedAt ||
      s.confirmedAt !== e.confirmedAt ||
      s.quiet !== e.quiet ||
      s.endAnnounced !== endAnnounced ||
      JSON.stringify(s.peak) !== JSON.stringify(e.peakOut)
    )
      updates.push({ id: s.id, e, endAnnounced });
  }
  // arrays, joined by id: planned as 10 rows, an index probe each (json_to_recordset, planned as 100,
  // made it a scan of the whole table); only the episodes that changed
  if (updates.length > 0) {
    await client.query({
      name: "alerts-update",
      text: `UPDATE alerts a SET started_at = ${TS("u.s")}, ended_at = ${TS("u.e")}, confirmed_at = ${TS("u.c")},
               peak = u.peak, lat = u.lat, lng = u.lng, quiet = u.q, end_announced = u.ea, rule_name = u.n,
               updated_at = now()
             FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::jsonb[], $6::float8[],
                         $7::float8[], $8::boolean[], $9::boolean[], $10::text[])
               AS u(id, s, e, c, peak, lat, lng, q, ea, n)
             WHERE a.id = u.id`,
      values: [
        sqlArray(updates.map((u) => u.id)),
        sqlArray(updates.map((u) => u.e.start.t)),
        sqlArray(updates.map((u) => u.e.endedAt)),
        sqlArray(updates.map((u) => u.e.confirmedAt)),
        sqlArray(updates.map((u) => JSON.stringify(u.e.peakOut))),
        sqlArray(updates.map((u) => u.e.start.lat)),
        sqlArray(updates.map((u) => u.e.start.lng)),
        sqlArray(updates.map((u) => u.e.quiet)),
        sqlArray(updates.map((u) => u.endAnnounced)),
        sqlArray(updates.map((u) => u.e.ruleName)),
      ],
    });
  }

  // the new rows as one JSON text (json_to_recordset; no join to plan): as a dozen arrays pg quoted
  // and escaped every element, the peak's JSON twice (BENCHMARKS.md, "Alert episodes after a
  // pause"); a peak of null is stored as JSON null, as the arrays stored it
  const fresh = byStart.filter((e) => !matched.has(e));
  if (fresh.length > 0) {
    const r = await client.query<{ id: number }>({
      name: "alerts-insert",
      text: `INSERT INTO alerts (rule_id, rule_name, vehicle_id, kind, started_at, ended_at, confirmed_at, peak, lat, lng,
                                 quiet, end_announced)
             SELECT u.r, u.n, u.v, u.k, ${TS("u.s")}, ${TS("u.e")}, ${TS("u.c")}, coalesce(u.p, 'null'), u.lat, u.lng,
                    u.q, u.ea
             FROM json_to_recordset($1::json)
               AS u(i int, r bigint, n text, v text, k text, s bigint, e bigint, c bigint, p jsonb, lat float8,
                    lng float8, q boolean, ea boolean)
             ORDER BY u.i
             RETURNING id::float8 AS id`,
      values: [
        JSON.stringify(
          fresh.map((e, i) => ({
            i,
            r: e.ruleId,
            n: e.ruleName,
            v: e.vehicleId,
            k: e.kind,
            s: e.start.t,
            e: e.endedAt,
            c: e.confirmedAt,
            p: e.peakOut,
            lat: e.start.lat,
            lng: e.start.lng,
            q: e.quiet,
            ea: !instant(e.kind) && e.endedAt !== null,
          })),
        ),
      ],
    });
    fresh.forEach((e, i) => {
      const id = (r.rows[i] as { id: number }).id;
      announce(e, id, "start");
      if (!instant(e.kind) && e.endedAt !== null) announce(e, id, "end");
    });
  }

  // per vehicle, in event time (then id)
  out.sort((a, b) =>
    a.m.vehicleId === b.m.vehicleId ? a.t - b.t || a.m.id - b.m.id : a.m.vehicleId < b.m.vehicleId ? -1 : 1,
  );
  const messages = out.map((x) => x.m);
  const queued = notify ? await queueAlertPhases(client, messages, notify === true ? undefined : notify) : 0;
  return { messages, queued };
}

/** A derived episode with what its rows and announcements need, worked out once. */
type Wanted = EpisodeOut & { vehicleId: string; peakOut: AlertMessage["peak"] };

function wantedOf(e: EpisodeOut, vehicleId: string): Wanted {
  // one decimal: a float4 speed reads 88.9000015258789 otherwise
  const peakOut: AlertMessage["peak"] =
    e.peak === null ? null : e.kind === "speeding" ? { speedKmh: round1(e.peak) } : { value: round1(e.peak) };
  // the fields named, not spread (the copy's cost in a burst: BENCHMARKS.md, "Alert episodes after a
  // pause"); a field added to EpisodeOut must be added here
  return {
    ruleId: e.ruleId,
    ruleName: e.ruleName,
    kind: e.kind,
    start: e.start,
    confirmedAt: e.confirmedAt,
    endedAt: e.endedAt,
    peak: e.peak,
    quiet: e.quiet,
    vehicleId,
    peakOut,
  };
}

function message(
  e: Wanted,
  id: number,
  phase: "start" | "end",
  late: boolean,
  iso: (t: number | null) => string | null,
): AlertMessage {
  return {
    type: "alert",
    id,
    phase,
    ruleId: e.ruleId,
    ruleName: e.ruleName,
    kind: e.kind,
    vehicleId: e.vehicleId,
    startedAt: iso(e.start.t) as string,
    endedAt: iso(e.endedAt),
    peak: e.peakOut,
    lat: e.start.lat,
    lng: e.start.lng,
    quiet: e.quiet,
    late,
  };
}
