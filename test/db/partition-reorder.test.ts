import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../core/logger.ts";
import { reorderClosedPartitions } from "../../worker/maintenance.ts";
import { DAY, fix, HOUR, startWorker, type WorkerHarness } from "./harness.ts";

const log = createLogger("test", "silent");
const VEHICLES = 200;
const INSTANTS = 30;
const MB64 = 64 * 1_048_576;

/** UTC midnight `n` days before today's */
const midnight = (n: number) => Math.floor(Date.now() / DAY) * DAY - n * DAY;
const partName = (day: number) =>
  `vehicle_locations_p${new Date(day).toISOString().slice(0, 10).replaceAll("-", "")}`;

/** A day of fixes written as ingest writes them: every vehicle's fix of one instant, then the next. */
async function loadTimeMajor(w: WorkerHarness, day: number): Promise<void> {
  await w.pool.query("SELECT ensure_location_partition($1, 'day')", [new Date(day)]);
  await w.pool.query(
    `INSERT INTO vehicle_locations (vehicle_id, recorded_at, location, speed, received_at)
     SELECT 'r-' || v, timestamptz 'epoch' + ($1::bigint + g::bigint * 60000) * interval '1 millisecond',
            ST_SetSRID(ST_MakePoint(55 + v * 0.001, 25 + g * 0.001), 4326), g, now()
     FROM generate_series(0, $2::int - 1) g, generate_series(0, $3::int - 1) v
     ORDER BY g, v`,
    [day + HOUR, INSTANTS, VEHICLES],
  );
}

/** The heap pages one vehicle's day lies on. */
async function pagesOf(w: WorkerHarness, vehicleId: string, day: number): Promise<number> {
  const r = await w.pool.query<{ n: number }>(
    `SELECT count(DISTINCT (ctid::text::point)[0])::int AS n FROM vehicle_locations
     WHERE vehicle_id = $1 AND recorded_at >= $2 AND recorded_at < $3`,
    [vehicleId, new Date(day), new Date(day + DAY)],
  );
  return r.rows[0]?.n ?? 0;
}

/** A partition's columns, constraints and indexes, its own name taken out. */
async function shape(w: WorkerHarness, part: string): Promise<unknown> {
  const r = await w.pool.query<{ shape: unknown }>(
    `SELECT json_build_object(
       'columns', (SELECT json_agg(json_build_array(a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                                                    pg_get_expr(d.adbin, d.adrelid)) ORDER BY a.attname)
                   FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                   WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped),
       'constraints', (SELECT json_agg(json_build_array(replace(conname, $2, ''), pg_get_constraintdef(oid)) ORDER BY conname)
                       FROM pg_constraint WHERE conrelid = $1::regclass),
       'indexes', (SELECT json_agg(replace(pg_get_indexdef(indexrelid), $2, '') ORDER BY indexrelid::regclass::text)
                   FROM pg_index WHERE indrelid = $1::regclass)) AS shape`,
    [part, part],
  );
  return r.rows[0]?.shape;
}

/** Every row of a day, as one digest. */
async function digest(w: WorkerHarness, day: number): Promise<string> {
  const r = await w.pool.query<{ d: string; n: number }>(
    `SELECT md5(string_agg(vehicle_id || recorded_at || ST_AsText(location) || speed, ',' ORDER BY vehicle_id, recorded_at)) AS d,
            count(*)::int AS n
     FROM vehicle_locations WHERE recorded_at >= $1 AND recorded_at < $2`,
    [new Date(day), new Date(day + DAY)],
  );
  return `${r.rows[0]?.n}:${r.rows[0]?.d}`;
}

describe("closed partitions rewritten in vehicle order (sql/022_partition_reorder.sql)", () => {
  let w: WorkerHarness | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it("rewrites a closed day once, newest first, every row kept, and leaves the open day alone", async () => {
    w = await startWorker();
    const closed = midnight(2);
    const older = midnight(3);
    const today = midnight(0);
    for (const day of [older, closed, today]) await loadTimeMajor(w, day);
    const before = { closed: await digest(w, closed), today: await digest(w, today) };
    const scattered = await pagesOf(w, "r-7", closed);
    expect(scattered).toBeGreaterThanOrEqual(INSTANTS / 2);
    const todayPages = await pagesOf(w, "r-7", today);

    // not yet due: the closed day ended 24-48 hours ago, the older one 48-72
    expect(
      (await reorderClosedPartitions(w.pool, { afterHours: 72, maxBytes: MB64 }, log)).reordered,
    ).toEqual([]);
    const r = await reorderClosedPartitions(w.pool, { afterHours: 6, maxBytes: MB64 }, log);
    expect(r.reordered.map((p) => [p.name, p.rows])).toEqual([
      [partName(closed), VEHICLES * INSTANTS],
      [partName(older), VEHICLES * INSTANTS],
    ]);
    expect(r.busy).toBeNull();
    // a vehicle's day: 30 fixes of ~100 bytes, one or two pages
    expect(await pagesOf(w, "r-7", closed)).toBeLessThanOrEqual(2);
    expect(await pagesOf(w, "r-7", older)).toBeLessThanOrEqual(2);
    expect(await digest(w, closed)).toBe(before.closed);
    expect(await digest(w, today)).toBe(before.today);
    expect(await pagesOf(w, "r-7", today)).toBe(todayPages);
    const ordered = await w.pool.query<{ name: string; ordered: boolean }>(
      "SELECT name, ordered FROM location_partitions WHERE lo IN ($1, $2, $3) ORDER BY lo",
      [new Date(older), new Date(closed), new Date(today)],
    );
    expect(ordered.rows.map((p) => p.ordered)).toEqual([true, true, false]);
    // the swapped-in table is a partition like the others: columns, constraints, indexes
    expect(await shape(w, partName(closed))).toEqual(await shape(w, partName(today)));

    // once: the next run finds nothing to do
    expect((await reorderClosedPartitions(w.pool, { afterHours: 6, maxBytes: MB64 }, log)).reordered).toEqual(
      [],
    );
    // a late fix still lands in the rewritten day (appended)
    const late = await w.send([fix("r-7", closed + 2 * HOUR + 1000, 25, 55)]);
    expect(late.inserted).toBe(1);
  });

  it("waits at most the lock timeout for a day in use, and rewrites it at the next run", async () => {
    w = await startWorker();
    const closed = midnight(2);
    await loadTimeMajor(w, closed);
    const reader = await w.pool.connect();
    try {
      // a long read of that day holds its partition's ACCESS SHARE lock until it commits: the copy
      // goes on beside it, the swap waits for it
      await reader.query("BEGIN");
      await reader.query(
        "SELECT count(*) FROM vehicle_locations WHERE recorded_at >= $1 AND recorded_at < $2",
        [new Date(closed), new Date(closed + DAY)],
      );
      // without the lock timeout this would wait for the reader, which waits for it: the test times out
      const r = await reorderClosedPartitions(
        w.pool,
        { afterHours: 6, maxBytes: MB64, lockTimeoutMs: 200 },
        log,
      );
      expect(r).toEqual({ reordered: [], busy: partName(closed), tooLarge: [] });
    } finally {
      await reader.query("COMMIT");
      reader.release();
    }
    const again = await reorderClosedPartitions(w.pool, { afterHours: 6, maxBytes: MB64 }, log);
    expect(again.reordered.map((p) => p.name)).toEqual([partName(closed)]);
  });

  it("holds only its own day's writes while it copies: today's batches go on, a late fix waits and is kept", async () => {
    w = await startWorker();
    const h = w;
    const closed = midnight(2);
    await loadTimeMajor(h, closed);
    const copying = await h.pool.connect();
    try {
      // the lock the rewrite holds while it copies the day (an ACCESS EXCLUSIVE one, as CLUSTER's,
      // stops these batches: PostgreSQL 15 locks every partition the track read cannot prune)
      await copying.query("BEGIN");
      await copying.query(`LOCK TABLE ${partName(closed)} IN SHARE MODE`);
      // more batches than PostgreSQL's five custom plans before it may choose a generic one
      const now = Date.now();
      for (let i = 0; i < 8; i++) {
        const r = await h.send([fix("live-1", now - 60_000 + i * 1000, 25 + i * 0.001, 55, { speed: 30 })]);
        expect(r.inserted).toBe(1);
      }
    } finally {
      await copying.query("ROLLBACK");
      copying.release();
    }
    // a real rewrite with late fixes of that day sent while it runs: none lost
    const lateFixes = Array.from({ length: 5 }, (_, i) =>
      fix(`r-${i}`, closed + 20 * HOUR + i * 1000, 25, 55),
    );
    const [reorder, ...late] = await Promise.all([
      reorderClosedPartitions(h.pool, { afterHours: 6, maxBytes: MB64 }, log),
      ...lateFixes.map((f) => h.send([f])),
    ]);
    expect(late.reduce((n, r) => n + r.inserted, 0)).toBe(5);
    expect(reorder.reordered.map((p) => p.name)).toEqual([partName(closed)]);
    const stored = await h.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM vehicle_locations WHERE recorded_at >= $1 AND recorded_at < $2",
      [new Date(closed), new Date(closed + DAY)],
    );
    expect(stored.rows[0]?.n).toBe(VEHICLES * INSTANTS + 5);
  });

  it("leaves a partition larger than the limit as it is", async () => {
    w = await startWorker();
    const closed = midnight(2);
    await loadTimeMajor(w, closed);
    const pages = await pagesOf(w, "r-7", closed);
    // 6,000 rows: about a megabyte with the primary key
    const r = await reorderClosedPartitions(w.pool, { afterHours: 6, maxBytes: 256 * 1024 }, log);
    expect(r).toEqual({ reordered: [], busy: null, tooLarge: [partName(closed)] });
    expect(await pagesOf(w, "r-7", closed)).toBe(pages);
    const ok = await reorderClosedPartitions(w.pool, { afterHours: 6, maxBytes: MB64 }, log);
    expect(ok.reordered.map((p) => p.name)).toEqual([partName(closed)]);
  });

  it("rewrites only partitions of vehicle_locations, whatever name it is given", async () => {
    w = await startWorker();
    const r = await w.pool.query<{ a: string | null; b: string | null; c: string | null }>(
      `SELECT reorder_location_partition('vehicles') AS a, reorder_location_partition('pg_class') AS b,
              reorder_location_partition('x"; DROP TABLE vehicles; --') AS c`,
    );
    expect(r.rows[0]).toEqual({ a: null, b: null, c: null });
    const clustered = await w.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_index WHERE indisclustered AND indrelid IN ('vehicles'::regclass, 'pg_class'::regclass)",
    );
    expect(clustered.rows[0]?.n).toBe(0);
    expect((await w.pool.query("SELECT count(*) FROM vehicles")).rowCount).toBe(1);
  });
});
