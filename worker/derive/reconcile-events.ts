import type pg from "pg";
import type { EventMessage } from "../../core/events.ts";
import { sqlArray } from "../../core/sql-array.ts";
import { later, send } from "../store/pipeline.ts";
import type { FenceVersions } from "./fence-versions.ts";
import type { FenceEventOut } from "./vehicle-machine.ts";

/** A geofence event as stored: the message published for it (core/events.ts) less its flags. */
export type GeofenceEvent = Omit<EventMessage, "type" | "late" | "retracted">;

export interface EventRun {
  vehicleId: string;
  /** the run re-derived every event confirmed after this (null = all of them) */
  since: number | null;
  /** a replay (or a first run), which may find events stored after `since` */
  replaces: boolean;
  events: FenceEventOut[];
}

export interface EventChanges {
  inserted: GeofenceEvent[];
  /** stored events that the replay no longer produces (late fixes proved them false) */
  retracted: GeofenceEvent[];
}

const keyOf = (v: string, g: number, kind: string, at: number) => `${v}\u0000${g}\u0000${kind}\u0000${at}`;

/**
 * Makes geofence_events hold what the runs derived: the stored events confirmed after each run's
 * `since` are compared with the run's, by (vehicle, geofence, kind, at). Events found by both
 * stay as they are (same id, not published again); new ones are inserted (named after the
 * geofence's version of their time) and returned for publishing; stored ones the run no longer
 * produces are deleted and returned as retracted. A stored event dated when no version of its
 * geofence is known (derived before versions were kept) cannot be judged again and is left as
 * it is. An in-order run has nothing stored after `since`, so it only inserts (no read).
 * `stored` is readReplacedEvents' answer for these runs, read before the runs (a pipelined batch
 * reads it with the tracks: store/pipeline.ts); nothing is read back here, the writes are sent.
 */
export async function reconcileEvents(
  client: pg.PoolClient,
  runs: readonly EventRun[],
  fences: FenceVersions,
  stored: readonly GeofenceEvent[],
): Promise<EventChanges> {
  const changes: EventChanges = { inserted: [], retracted: [] };
  if (runs.length === 0) return changes;
  await fences.load(
    client,
    stored.map((e) => e.geofenceId),
  );
  const old = new Map(
    stored
      .filter((e) => fences.at(e.geofenceId, e.at) !== undefined)
      .map((e) => [keyOf(e.vehicleId, e.geofenceId, e.kind, e.at), e]),
  );

  const fresh: Omit<GeofenceEvent, "id">[] = [];
  const reconfirmed: { id: number; confirmedAt: number }[] = [];
  const kept = new Set<string>();
  for (const run of runs) {
    for (const ev of run.events) {
      const key = keyOf(run.vehicleId, ev.geofenceId, ev.kind, ev.at.t);
      const prior = old.get(key);
      if (prior) {
        kept.add(key);
        if (prior.confirmedAt !== ev.confirmedAt)
          reconfirmed.push({ id: prior.id, confirmedAt: ev.confirmedAt });
        continue;
      }
      fresh.push({
        vehicleId: run.vehicleId,
        geofenceId: ev.geofenceId,
        geofenceName: fences.at(ev.geofenceId, ev.at.t)?.name ?? String(ev.geofenceId),
        kind: ev.kind,
        at: ev.at.t,
        confirmedAt: ev.confirmedAt,
        lat: ev.at.lat,
        lng: ev.at.lng,
      });
    }
  }
  changes.retracted = [...old].filter(([key]) => !kept.has(key)).map(([, e]) => e);

  if (changes.retracted.length > 0) {
    await send(client, {
      text: "DELETE FROM geofence_events WHERE id = ANY($1::bigint[])",
      values: [sqlArray(changes.retracted.map((e) => e.id))],
    });
  }
  if (reconfirmed.length > 0) {
    await send(client, {
      text: `UPDATE geofence_events e SET confirmed_at = timestamptz 'epoch' + u.c * interval '1 millisecond'
             FROM unnest($1::bigint[], $2::bigint[]) AS u(id, c) WHERE e.id = u.id`,
      values: [sqlArray(reconfirmed.map((r) => r.id)), sqlArray(reconfirmed.map((r) => r.confirmedAt))],
    });
  }
  if (fresh.length > 0) {
    const inserting = client.query<{ id: number; v: string; g: number; k: string; at: number }>({
      name: "insert-events",
      text: `INSERT INTO geofence_events (vehicle_id, geofence_id, geofence_name, kind, at, confirmed_at, location)
             SELECT u.v, u.g, u.n, u.k, timestamptz 'epoch' + u.at * interval '1 millisecond',
                    timestamptz 'epoch' + u.c * interval '1 millisecond', ST_SetSRID(ST_MakePoint(u.lng, u.lat), 4326)
             FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::float8[], $8::float8[])
               AS u(v, g, n, k, at, c, lng, lat)
             ON CONFLICT (vehicle_id, geofence_id, kind, at) DO NOTHING
             RETURNING id::float8 AS id, vehicle_id AS v, geofence_id::float8 AS g, kind AS k,
                       (extract(epoch FROM at) * 1000)::float8 AS at`,
      values: [
        sqlArray(fresh.map((e) => e.vehicleId)),
        sqlArray(fresh.map((e) => e.geofenceId)),
        sqlArray(fresh.map((e) => e.geofenceName)),
        sqlArray(fresh.map((e) => e.kind)),
        sqlArray(fresh.map((e) => e.at)),
        sqlArray(fresh.map((e) => e.confirmedAt)),
        sqlArray(fresh.map((e) => e.lng)),
        sqlArray(fresh.map((e) => e.lat)),
      ],
    });
    // the ids name the published events: filled in when answered, before the batch's transaction ends
    await later(client, inserting, (r) => {
      const ids = new Map(r.rows.map((row) => [keyOf(row.v, row.g, row.k, row.at), row.id]));
      for (const e of fresh) {
        const id = ids.get(keyOf(e.vehicleId, e.geofenceId, e.kind, e.at));
        if (id !== undefined) changes.inserted.push({ id, ...e });
      }
    });
  }
  return changes;
}

/**
 * The stored events a run from `since` re-derives (confirmed after it; null: all), for the runs
 * that replace what is stored (an in-order run has none to read).
 */
export async function readReplacedEvents(
  client: pg.PoolClient,
  runs: readonly { vehicleId: string; since: number | null; replaces: boolean }[],
): Promise<GeofenceEvent[]> {
  const replacing = runs.filter((r) => r.replaces);
  if (replacing.length === 0) return [];
  const r = await client.query<GeofenceEvent>({
    name: "events-after",
    text: `SELECT e.id::float8 AS id, e.vehicle_id AS "vehicleId", e.geofence_id::float8 AS "geofenceId",
                  e.geofence_name AS "geofenceName", e.kind,
                  (extract(epoch FROM e.at) * 1000)::float8 AS at,
                  (extract(epoch FROM e.confirmed_at) * 1000)::float8 AS "confirmedAt",
                  ST_Y(e.location) AS lat, ST_X(e.location) AS lng
           FROM unnest($1::text[], $2::bigint[]) AS u(v, since)
           CROSS JOIN LATERAL (
             SELECT * FROM geofence_events
             WHERE vehicle_id = u.v
               AND (u.since IS NULL OR confirmed_at > timestamptz 'epoch' + u.since * interval '1 millisecond')
             OFFSET 0 -- an index range scan per vehicle, not a hash join over the whole table
           ) e`,
    values: [sqlArray(replacing.map((r) => r.vehicleId)), sqlArray(replacing.map((r) => r.since))],
  });
  return r.rows;
}
