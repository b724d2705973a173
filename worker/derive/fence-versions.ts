import type pg from "pg";
import { sqlArray } from "../../core/sql-array.ts";

/**
 * Geofences as they were (sql/008_geofence_versions.sql): every save is a version valid from its
 * save to the next one or the deletion. The machine judges a fix against the version valid at its
 * recorded time; events are named after the version of their time; and a replay leaves alone the
 * stored events of a time when no version of their geofence is known (history from before the
 * versions were kept).
 */
export interface FenceVersion {
  /** valid from (epoch ms, inclusive) */
  from: number;
  /** valid until (exclusive); Infinity for the current version */
  to: number;
  /** start of the run of versions with this polygon (epoch ms) */
  shapeSince: number;
  name: string;
  dwellMs: number;
}

/**
 * Versions already read, shared by the process's batches while geofence_changes' head (and the
 * database) stay the same: every save of a geofence adds a change (sql/008), so a batch that
 * reads a newer head starts a new set, and one that reads an older head keeps its own.
 */
let shared: { db: string; head: number; byId: Map<number, FenceVersion[]> } | null = null;

export class FenceVersions {
  private readonly byId: Map<number, FenceVersion[]>;

  /** `at`: the head the batch read (readFenceChanges); without it nothing is shared. */
  constructor(at?: { db: string; head: number }) {
    if (at && (shared === null || shared.db !== at.db || shared.head < at.head))
      shared = { ...at, byId: new Map() };
    this.byId = at && shared?.db === at.db && shared.head === at.head ? shared.byId : new Map();
  }

  /** Reads the versions of the geofences not read yet (one statement; none when all are known). */
  async load(client: pg.PoolClient, ids: Iterable<number>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.byId.has(id));
    if (missing.length === 0) return;
    const r = await client.query<{ id: number } & FenceVersion>({
      name: "geofence-versions",
      text: `SELECT geofence_id::float8 AS id, (extract(epoch FROM valid_from) * 1000)::float8 AS "from",
                    COALESCE((extract(epoch FROM valid_to) * 1000)::float8, 'Infinity') AS "to",
                    (extract(epoch FROM shape_since) * 1000)::float8 AS "shapeSince",
                    name, dwell_seconds * 1000 AS "dwellMs"
             FROM geofence_versions WHERE geofence_id = ANY($1::bigint[]) ORDER BY geofence_id, valid_from`,
      values: [sqlArray(missing)],
    });
    // set whole once answered: another batch sharing the map never sees a half-read geofence
    const read = new Map<number, FenceVersion[]>(missing.map((id) => [id, []]));
    for (const { id, ...v } of r.rows) read.get(id)?.push(v);
    for (const [id, versions] of read) this.byId.set(id, versions);
  }

  /** The version valid at `t`, or undefined when the geofence did not exist then (or is not loaded). */
  at(id: number, t: number): FenceVersion | undefined {
    return this.byId.get(id)?.find((v) => v.from <= t && t < v.to);
  }
}

export interface FenceChanges {
  /** the database read (the shared versions are per database) */
  db: string;
  head: number;
  changes: { seq: number; at: number }[];
}

/**
 * The newest geofence change, and the event time of each change after `after` (null: none wanted),
 * rounded up to the millisecond of the first fix it applies to (saves are dated in microseconds).
 * With `vehicleIds` and no `after`: the changes after the oldest fenceSeq of those vehicles' saved
 * machines, read in PostgreSQL, so a batch sends this with its lock (no answer awaited first).
 */
export async function readFenceChanges(
  client: pg.PoolClient,
  after: number | null,
  vehicleIds: readonly string[] = [],
): Promise<FenceChanges> {
  const r = await client.query<{ db: string; head: number; changes: [number, number][] }>({
    name: "geofence-changes",
    text: `SELECT current_database() AS db, COALESCE((SELECT max(seq) FROM geofence_changes), 0)::float8 AS head,
                  COALESCE((SELECT json_agg(json_build_array(seq, extract(epoch FROM at) * 1000) ORDER BY seq)
                            FROM geofence_changes
                            WHERE seq > COALESCE($1::float8, (SELECT min((machine->>'fenceSeq')::float8)
                                                              FROM vehicle_state WHERE vehicle_id = ANY($2::text[])))),
                           '[]') AS changes`,
    values: [after, sqlArray(vehicleIds)],
  });
  const row = r.rows[0] as { db: string; head: number; changes: [number, number][] };
  return {
    db: row.db,
    head: row.head,
    changes: row.changes.map(([seq, at]) => ({ seq: Number(seq), at: Math.ceil(Number(at)) })),
  };
}
