import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Fix } from "../../core/fix.ts";
import { redisKeys } from "../../core/redis.ts";
import { deriveVehicles } from "../../worker/derive/derive-vehicles.ts";
import { fixKey } from "../../worker/store/insert-locations.ts";
import { lockVehicles } from "../../worker/store/vehicle-state.ts";
import { fix, HOUR, startWorker, type WorkerHarness } from "./harness.ts";

const S = 1000;
const T0 = Date.now() - 30 * HOUR;

/**
 * 2.5 hours, a fix every 20 s: ten cycles of 9 minutes' driving at 54 km/h (east, then back west)
 * and 6 minutes standing (ignition off every third time), through two geofences on the way.
 */
function longDrive(vehicleId: string): Fix[] {
  const out: Fix[] = [];
  let lng = 55.0;
  let t = T0;
  for (let c = 0; c < 10; c++) {
    const dir = c % 2 === 0 ? 1 : -1;
    for (let i = 0; i < 27; i++) {
      lng += dir * 0.003;
      out.push(fix(vehicleId, t, 25.0, lng, { speed: 54, ignition: true }));
      t += 20 * S;
    }
    for (let i = 0; i < 18; i++) {
      out.push(fix(vehicleId, t, 25.0, lng, { speed: 0, ignition: c % 3 !== 0 }));
      t += 20 * S;
    }
  }
  return out;
}

/** Deterministic shuffle (mulberry32), so a failure can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  let a = seed;
  const rand = () => {
    a = (a + 0x6d2b79f5) | 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4_294_967_296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe("late and out-of-order batches, two workers racing", () => {
  let w: WorkerHarness;

  beforeAll(async () => {
    w = await startWorker({ WORKER_CONCURRENCY: "4" });
    await w.pool.query(
      // created before the test's fixes: a geofence judges only fixes after its creation
      `INSERT INTO geofences (name, polygon, dwell_seconds, created_at) VALUES
         ('gate', ST_MakeEnvelope(55.02, 24.99, 55.04, 25.01, 4326), 0, now() - interval '30 days'),
         ('yard', ST_MakeEnvelope(55.05, 24.99, 55.07, 25.01, 4326), 30, now() - interval '30 days')`,
    );
  });
  afterAll(() => w?.close());

  /** Fixes written straight into the history, as an older install stored them: no batch, no state row. */
  async function storeDirectly(fixes: readonly Fix[]) {
    await w.pool.query(
      `INSERT INTO vehicle_locations (vehicle_id, recorded_at, location, speed, ignition, received_at)
       SELECT v, timestamptz 'epoch' + t * interval '1 millisecond', ST_SetSRID(ST_MakePoint(lng, lat), 4326),
              speed, ign, now()
       FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::float8[], $5::real[], $6::boolean[])
         AS u(v, t, lat, lng, speed, ign)`,
      [
        fixes.map((f) => f.vehicleId),
        fixes.map((f) => f.recordedAt),
        fixes.map((f) => f.lat),
        fixes.map((f) => f.lng),
        fixes.map((f) => f.speed),
        fixes.map((f) => f.ignition),
      ],
    );
  }

  /** Everything derived for a vehicle, in a form two vehicles can be compared by. */
  async function derived(vehicleId: string) {
    const q = async (sql: string) => (await w.pool.query(sql, [vehicleId])).rows;
    return {
      trips: await q(
        `SELECT started_at, ended_at, closed_at, round(distance_m::numeric, 3) AS d, max_speed_kmh,
                ST_AsText(start_location) AS a, ST_AsText(end_location) AS b
         FROM trips WHERE vehicle_id = $1 ORDER BY started_at`,
      ),
      stops: await q(
        "SELECT started_at, ended_at, closed_at, ST_AsText(location) AS l FROM stops WHERE vehicle_id = $1 ORDER BY started_at",
      ),
      events: await q(
        `SELECT geofence_name, kind, at, confirmed_at, ST_AsText(location) AS l FROM geofence_events
         WHERE vehicle_id = $1 ORDER BY at, geofence_name, kind`,
      ),
      days: await q(
        `SELECT day, fixes, round(distance_m::numeric, 3) AS d, moving_s, idle_s, max_speed_kmh, first_fix_at, last_fix_at
         FROM daily_vehicle_stats WHERE vehicle_id = $1 ORDER BY day`,
      ),
      state: await q(
        "SELECT last_fix_at, moving, machine - 'checkpointAt' AS machine FROM vehicle_state WHERE vehicle_id = $1",
      ),
    };
  }

  it("derives from shuffled batches, processed by two workers at once, exactly what in-order arrival gives", async () => {
    const ordered = longDrive("replay-ordered");
    for (let i = 0; i < ordered.length; i += 10) await w.send(ordered.slice(i, i + 10));
    const expected = await derived("replay-ordered");
    expect(expected.trips).toHaveLength(10);
    expect(expected.stops).toHaveLength(9);
    expect(expected.events.filter((e) => e.geofence_name === "gate")).toHaveLength(20);
    expect(expected.events.filter((e) => e.geofence_name === "yard")).toHaveLength(20);
    const checkpoints = await w.pool.query(
      "SELECT count(*)::int AS n FROM vehicle_checkpoints WHERE vehicle_id = 'replay-ordered'",
    );
    expect(checkpoints.rows[0]?.n).toBe(3);

    await w.addWorker();
    const drive = longDrive("replay-shuffled");
    const batches: Fix[][] = [];
    for (let i = 0; i < drive.length; i += 10) batches.push(drive.slice(i, i + 10));
    const results = await w.sendAll(shuffled(batches, 7));
    expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(drive.length);

    const got = await derived("replay-shuffled");
    const strip = (x: typeof got) => ({ ...x, state: x.state.map(({ machine, ...rest }) => rest) });
    expect(strip(got)).toEqual(strip(expected));
    // the machine state after the last fix is the same, save where its checkpoints were taken
    expect(got.state[0]?.machine).toEqual(expected.state[0]?.machine);
    expect(Number(await w.redis.hget(redisKeys.metrics, "worker_replays"))).toBeGreaterThan(0);
  });

  it("after history stored without a state row (an upgrade from before sql/006), late uploads derive what in-order arrival gives", async () => {
    // the machine's first run reads that history to its end; the state's last_fix_at then holds
    // only what batches stored, older than the history: the next late batch must still read it all
    const drive = longDrive("replay-upgraded");
    const late = [drive[100] as Fix, drive[110] as Fix];
    const old = drive.filter((f) => !late.includes(f));
    await storeDirectly(old);
    for (const f of late) await w.send([f]);
    const [got, ordered] = [await derived("replay-upgraded"), await derived("replay-ordered")];
    expect(got.trips).toEqual(ordered.trips);
    expect(got.stops).toEqual(ordered.stops);
    expect(got.events).toEqual(ordered.events);
    expect(got.state[0]?.machine.lastAt).toBe(drive.at(-1)?.recordedAt);
  });

  it("reads a long replay back in pages and derives the same as in one read", async () => {
    // the whole drive already stored (as after installing the worker on old history), derived
    // from the start in pages of 7 rows
    const drive = longDrive("replay-paged");
    await storeDirectly(drive);
    const c = await w.pool.connect();
    try {
      await c.query("BEGIN");
      const locked = await lockVehicles(c, ["replay-paged"]);
      await deriveVehicles(c, locked, new Set(drive.map((f) => fixKey(f.vehicleId, f.recordedAt))), {
        movingSpeedKmh: w.config.MOVING_SPEED_KMH,
        stopMinMs: w.config.STOP_MIN_SECONDS * 1000,
        gapMs: w.config.TRIP_GAP_SECONDS * 1000,
        tripMinDistanceM: w.config.TRIP_MIN_DISTANCE_M,
        checkpointEveryMs: 3_600_000,
        retainedFrom: 0,
        pageRows: 7,
      });
      await c.query("COMMIT");
    } finally {
      c.release();
    }
    const [paged, ordered] = [await derived("replay-paged"), await derived("replay-ordered")];
    expect(paged.trips).toEqual(ordered.trips);
    expect(paged.stops).toEqual(ordered.stops);
    expect(paged.events).toEqual(ordered.events);
  });
});

describe("a partition's batches with WORKER_CONCURRENCY 1, two workers taking jobs", () => {
  let w: WorkerHarness;
  beforeAll(async () => {
    w = await startWorker();
  });
  afterAll(() => w?.close());

  it("commits them one at a time in queue order: no overlap, no replay", async () => {
    expect(w.config.WORKER_CONCURRENCY).toBe(1);
    expect(await w.queue.getGlobalConcurrency()).toBe(1);
    await w.addWorker();
    const drive = longDrive("in-order");
    const batches: Fix[][] = [];
    for (let i = 0; i < drive.length; i += 10) batches.push(drive.slice(i, i + 10));
    const results = await w.sendAll(batches);
    expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(drive.length);

    const jobs = (await w.queue.getJobs(["completed"])).sort(
      (a, b) => (a.processedOn ?? 0) - (b.processedOn ?? 0),
    );
    expect(jobs).toHaveLength(batches.length);
    // each job that did its own work started after the one before it finished, in the order they
    // were queued; a job committed with an earlier one (worker/coalesce.ts) does no work when its
    // turn comes and completes within a millisecond, closer than BullMQ's timestamps (each taken by
    // the calling worker before its script runs) can order two workers' steps: for it, the job it
    // was committed with is one queued before it
    const committedWith = (j: (typeof jobs)[number]) =>
      (j.progress as { committedWith?: string } | undefined)?.committedWith;
    const first = (j: (typeof jobs)[number] | undefined) => j?.data.fixes[0]?.recordedAt ?? Number.NaN;
    const leads = jobs.filter((j) => committedWith(j) === undefined);
    for (let i = 1; i < leads.length; i++) {
      expect(leads[i]?.processedOn).toBeGreaterThanOrEqual(leads[i - 1]?.finishedOn ?? Number.NaN);
      expect(first(leads[i])).toBeGreaterThan(first(leads[i - 1]));
    }
    for (const j of jobs) {
      const lead = committedWith(j);
      if (lead !== undefined) expect(first(jobs.find((x) => x.id === lead))).toBeLessThan(first(j));
    }
    expect(await w.redis.hget(redisKeys.metrics, "worker_replays")).toBeNull();
  });
});
