import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Fix } from "../../core/fix.ts";
import { redisKeys } from "../../core/redis.ts";
import { fix, HOUR, MINUTE, noonDaysAgo, startWorker, type WorkerHarness } from "./harness.ts";

/**
 * The daily rollup added up by the worker from the tracks it reads (worker/derive/day-appends.ts)
 * against the rollup computed in SQL from the stored fixes (daily-analytics.ts): random tracks with
 * missing speeds, ignition on, off and unknown, silences, and a midnight that happens twice: in
 * America/Havana the clocks go back from 01:00 to 00:00 on 1 November 2026, so its first hour is
 * lived twice (04:00-05:00 and 05:00-06:00 UTC), both on the fleet day of 1 November.
 */

const COLUMNS = [
  "fixes",
  "distance_m",
  "moving_s",
  "idle_s",
  "moving_speed_s",
  "gap_s",
  "gap_distance_m",
  "max_speed_kmh",
  "first_fix_at",
  "last_fix_at",
] as const;
type Row = { day: string } & Record<(typeof COLUMNS)[number], number | null>;

/** mulberry32: the same tracks on every run */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// 22:00 on 31 October 2026 in Havana (CDT, UTC-4); its midnight is at 04:00 UTC, and again at 05:00
const T0 = Date.UTC(2026, 10, 1, 2, 0);

function randomTrack(id: string, rnd: () => number): Fix[] {
  const out: Fix[] = [];
  let t = T0 + Math.floor(rnd() * 30) * MINUTE;
  let lat = 23.1 + rnd() * 0.1;
  let lng = -82.4 + rnd() * 0.1;
  for (let i = 0; i < 400; i++) {
    const r = rnd();
    // mostly 5-60 s apart; now and then a silence of 11 minutes to 5 hours (TRIP_GAP_SECONDS 600)
    t += r < 0.03 ? Math.floor((11 + rnd() * 290) * MINUTE) : Math.floor(5_000 + rnd() * 55_000);
    const moving = rnd() < 0.7;
    if (moving) {
      lat += (rnd() - 0.5) * 0.004;
      lng += (rnd() - 0.5) * 0.004;
    } else {
      lat += (rnd() - 0.5) * 0.00002;
    }
    const ign = rnd();
    out.push(
      fix(id, t, lat, lng, {
        ...(rnd() < 0.3 ? {} : { speed: moving ? Math.round(rnd() * 900) / 10 : 0 }),
        ...(ign < 0.15 ? {} : { ignition: ign < 0.85 }),
      }),
    );
  }
  return out;
}

describe("daily rollup: the worker's appends = the rollup computed in SQL", () => {
  let w: WorkerHarness;
  const rows = async (vehicleId: string) =>
    (
      await w.pool.query<Row>(
        `SELECT to_char(day, 'YYYY-MM-DD') AS day, ${COLUMNS.map((c) =>
          c.endsWith("_at") ? `(extract(epoch FROM ${c}) * 1000)::float8 AS ${c}` : c,
        ).join(", ")}
         FROM daily_vehicle_stats WHERE vehicle_id = $1 ORDER BY day`,
        [vehicleId],
      )
    ).rows;
  const metric = async (path: string) =>
    Number((await w.redis.hget(redisKeys.metrics, `worker_daily_rows:${path}`)) ?? 0);
  const expectSame = (a: Row[], b: Row[]) => {
    expect(a.map((r) => [r.day, r.fixes, r.first_fix_at, r.last_fix_at])).toEqual(
      b.map((r) => [r.day, r.fixes, r.first_fix_at, r.last_fix_at]),
    );
    for (const [i, r] of a.entries())
      for (const c of COLUMNS) {
        const x = r[c];
        const y = (b[i] as Row)[c];
        if (x === null || y === null) expect([c, x]).toEqual([c, y]);
        else expect([c, Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(y))]).toEqual([c, true]);
      }
  };

  beforeAll(async () => {
    w = await startWorker({
      FLEET_TZ: "America/Havana",
      MOVING_SPEED_KMH: "5",
      TRIP_GAP_SECONDS: "600",
      RETENTION_DAYS: "3650",
    });
  });
  afterAll(() => w?.close());

  it("gives the same rows from in-order batches of random sizes as from one batch, over random tracks", async () => {
    const rnd = random(20261101);
    const vehicles = Array.from({ length: 6 }, (_, i) => i);
    const tracks = vehicles.map((i) => randomTrack(`appended-${i}`, rnd));
    // one job per round, with the next piece (1-25 fixes) of every vehicle's track
    const pieces = tracks.map((track) => {
      const out: Fix[][] = [];
      for (let i = 0; i < track.length; ) {
        const n = 1 + Math.floor(rnd() * 25);
        out.push(track.slice(i, i + n));
        i += n;
      }
      return out;
    });
    const appendedBefore = await metric("appended");
    for (let round = 0; pieces.some((p) => p.length > round); round++)
      await w.send(pieces.flatMap((p) => p[round] ?? []));
    // the same tracks, each as one batch: a vehicle's first batch is computed in SQL
    const computedBefore = await metric("computed");
    await w.send(tracks.flatMap((track, i) => track.map((f) => ({ ...f, vehicleId: `whole-${i}` }))));

    expect(await metric("computed")).toBeGreaterThan(computedBefore);
    expect(await metric("appended")).toBeGreaterThan(appendedBefore);
    // the hour lived twice is in the tracks, on 1 November
    const twice = tracks.flat().filter((f) => f.recordedAt >= T0 + 2 * HOUR && f.recordedAt < T0 + 3 * HOUR);
    expect(twice.length).toBeGreaterThan(10);
    for (const i of vehicles) {
      const appended = await rows(`appended-${i}`);
      expect(appended.map((r) => r.day)).toContain("2026-11-01");
      expect(appended.reduce((n, r) => n + (r.fixes ?? 0), 0)).toBe(400);
      expectSame(appended, await rows(`whole-${i}`));
    }
  });

  it("computes a day in SQL when its row does not end where the worker's window began (a lost row)", async () => {
    const t = T0 + 30 * HOUR;
    const track = Array.from({ length: 12 }, (_, i) =>
      fix("lost-row", t + i * MINUTE, 23.1 + i * 0.002, -82.35, { speed: 40, ignition: true }),
    );
    await w.send(track.slice(0, 6));
    const reference = await rows("lost-row");
    await w.pool.query("DELETE FROM daily_vehicle_stats WHERE vehicle_id = 'lost-row'");
    const computedBefore = await metric("computed");
    await w.send(track.slice(6));
    expect(await metric("computed")).toBe(computedBefore + 1);
    const after = await rows("lost-row");
    expect(after.map((r) => [r.fixes, r.first_fix_at])).toEqual([[12, reference[0]?.first_fix_at]]);

    // and the next in-order batch is appended again
    const appendedBefore = await metric("appended");
    await w.send([fix("lost-row", t + 12 * MINUTE, 23.125, -82.35, { speed: 40, ignition: true })]);
    expect(await metric("appended")).toBe(appendedBefore + 1);
    expect((await rows("lost-row"))[0]?.fixes).toBe(13);
  });
});

describe("daily rollup: a refused append falls back to the batch's own fixes", () => {
  let w: WorkerHarness;
  beforeAll(async () => {
    w = await startWorker({ FLEET_TZ: "UTC", MOVING_SPEED_KMH: "5", RETENTION_DAYS: "1" });
  });
  afterAll(() => w?.close());

  it("appends a fix to a day before the retained history when the machine lags the row", async () => {
    // three days ago: the day starts before the retained history, so it is never computed whole
    const t = noonDaysAgo(3);
    const at = (i: number) =>
      fix("lagging", t + i * MINUTE, 25 + i * 0.005, 55, { speed: 40, ignition: true });
    await w.send([at(0)]);
    await w.send([at(1)]);
    // a machine saved behind the rollup (as a batch that skipped the vehicle's derivation leaves it):
    // the next track starts at the first fix, one before the row's last
    await w.pool.query(
      `UPDATE vehicle_state SET machine = jsonb_set(machine, '{lastAt}', to_jsonb($2::float8)) WHERE vehicle_id = $1`,
      ["lagging", t],
    );
    await w.send([at(2)]);
    const r = await w.pool.query<{ fixes: number; last: number }>(
      `SELECT fixes, (extract(epoch FROM last_fix_at) * 1000)::float8 AS last
       FROM daily_vehicle_stats WHERE vehicle_id = 'lagging'`,
    );
    expect(r.rows).toEqual([{ fixes: 3, last: t + 2 * MINUTE }]);
  });
});
