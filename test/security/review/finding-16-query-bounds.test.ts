import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineLiveUpdate, liveArgs, liveKeys } from "../../../core/live-state.ts";
import { type ApiHarness, startApi } from "../../api/harness.ts";
import { type RedisServer, startRedis } from "../../support/redis-server.ts";

// Security review finding 16 (docs/security.md): the API's queries had no statement_timeout, a
// simplified track fed every fix of up to 31 days to ST_MakeLine, and /api/positions read and
// sorted the whole fleet for every page. The app on a Redis server of its own, so that server's
// traffic counters are this test's alone.
const DAY = 86_400_000;
const DAY0 = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;
const FLEET = 400;
const iso = (t: number) => new Date(t).toISOString();

describe("finding 16: the API's queries, simplified tracks and position pages are bounded", () => {
  let redisServer: RedisServer;
  let h: ApiHarness;
  let viewer: { authorization: string };
  const outBytes = async () =>
    Number(/total_net_output_bytes:(\d+)/.exec(await h.redis.info("stats"))?.[1] ?? Number.NaN);

  beforeAll(async () => {
    redisServer = await startRedis({ appendonly: false });
    await redisServer.start();
    h = await startApi({
      redisUrl: redisServer.url,
      env: { API_STATEMENT_TIMEOUT_MS: "1000", TRACK_SIMPLIFY_MAX_INPUT: "100" },
    });
    viewer = h.bearer(h.viewerToken);
    await h.app.inject({
      method: "POST",
      url: "/api/vehicles",
      headers: h.bearer(h.adminToken),
      payload: { id: "f16-zigzag" },
    });
    for (let d = -1; d <= 2; d++)
      await h.pool.query("SELECT ensure_location_partition($1, 'day')", [new Date(DAY0 + d * DAY)]);
    // 1,000 fixes a minute apart zig-zagging 1 km east and back: Douglas-Peucker keeps them all
    await h.pool.query(
      `INSERT INTO vehicle_locations (vehicle_id, recorded_at, location, speed, received_at)
       SELECT 'f16-zigzag', to_timestamp(($1::float8 + i * 60000) / 1000.0),
              ST_SetSRID(ST_MakePoint(55 + (i % 2) * 0.01, 25 + i * 0.0001), 4326), i, now()
       FROM generate_series(0, 999) AS i`,
      [DAY0],
    );
  });
  afterAll(async () => {
    await h?.close();
    await redisServer?.cleanup();
  });

  it("finding 16: the API's pool runs under API_STATEMENT_TIMEOUT_MS; a query past it answers 503 E_QUERY_TIMEOUT", async () => {
    expect((await h.pool.query("SHOW statement_timeout")).rows[0].statement_timeout).toBe("1s");
    // a query made slow for real: another session holds the table the track reads
    const locker = new pg.Client({ connectionString: h.config.DATABASE_URL });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE vehicle_locations IN ACCESS EXCLUSIVE MODE");
      // without a timeout the request waits for the lock: released after a guard far above 1 s
      const release = setTimeout(() => void locker.query("ROLLBACK").catch(() => {}), 15_000);
      const res = await h.app.inject({
        url: `/api/vehicles/f16-zigzag/track?from=${iso(DAY0)}&to=${iso(DAY0 + DAY)}`,
        headers: viewer,
      });
      clearTimeout(release);
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: "E_QUERY_TIMEOUT" });
    } finally {
      await locker.query("ROLLBACK").catch(() => {});
      await locker.end();
    }
    const metrics = await h.app.inject({ url: "/metrics", headers: h.bearer(h.adminToken) });
    expect(metrics.body).toMatch(/^logitrack_api_query_timeouts_total 1$/m);
    // the lock gone, the same request answers
    const again = await h.app.inject({
      url: `/api/vehicles/f16-zigzag/track?from=${iso(DAY0)}&to=${iso(DAY0 + DAY)}`,
      headers: viewer,
    });
    expect(again.statusCode).toBe(200);
  });

  it("finding 16: a simplified track feeds at most TRACK_SIMPLIFY_MAX_INPUT fixes to the simplifier, and says so", async () => {
    const q = `from=${iso(DAY0)}&to=${iso(DAY0 + DAY)}&simplify=1`;
    const res = await h.app.inject({ url: `/api/vehicles/f16-zigzag/track?${q}`, headers: viewer });
    expect(res.statusCode).toBe(200);
    const props = res.json().properties;
    expect(props.count).toBeLessThanOrEqual(100);
    expect(props.count).toBeGreaterThan(50);
    expect(props).toMatchObject({ simplified: true, thinnedEvery: 11 });
    expect(res.headers["x-track-thinned-every"]).toBe("11");
    // the ends of the range stay
    expect(props.coordinateProperties.times[0]).toBe(iso(DAY0));
    expect(props.coordinateProperties.times.at(-1)).toBe(iso(DAY0 + 999 * 60_000));
    const csv = await h.app.inject({
      url: `/api/vehicles/f16-zigzag/track?${q}&format=csv`,
      headers: viewer,
    });
    expect(csv.headers["x-track-thinned-every"]).toBe("11");
    // a range within the bound is simplified from every fix
    const short = await h.app.inject({
      url: `/api/vehicles/f16-zigzag/track?from=${iso(DAY0)}&to=${iso(DAY0 + 90 * 60_000)}&simplify=1`,
      headers: viewer,
    });
    expect(short.json().properties).toMatchObject({ count: 90, thinnedEvery: 1 });
    expect(short.headers["x-track-thinned-every"]).toBeUndefined();
  });

  it("finding 16: paging /api/positions through the fleet reads about the fleet once, not once per page", async () => {
    const fixes = Array.from({ length: FLEET }, (_, i) => ({
      vehicleId: `f16-v${String(i).padStart(4, "0")}`,
      messageId: `m${i}`,
      recordedAt: Date.now() - 1000,
      receivedAt: Date.now(),
      lat: 25 + (i % 20) * 0.01,
      lng: 55 + Math.floor(i / 20) * 0.01,
      speed: 10,
    }));
    // the bridge's own writer; a channel nobody listens to, so no subscriber traffic is counted
    await defineLiveUpdate(h.redis).liveUpdate(...liveArgs(fixes, "f16:unheard"));
    const fleetBytes = (await h.redis.hvals(liveKeys.live)).reduce((n, v) => n + v.length, 0);

    const before = await outBytes();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await h.app.inject({
        url: `/api/positions?limit=10${cursor ? `&cursor=${cursor}` : ""}`,
        headers: viewer,
      });
      expect(res.statusCode).toBe(200);
      const page = res.json() as { items: { vehicleId: string }[]; nextCursor: string | null };
      seen.push(...page.items.map((p) => p.vehicleId));
      cursor = page.nextCursor;
    } while (cursor);
    const read = (await outBytes()) - before;

    expect(seen).toEqual(fixes.map((f) => f.vehicleId));
    // 40 pages: re-reading the fleet per page is ~40 times its size; a page reads about its own
    expect(read).toBeLessThan(2 * fleetBytes);
  });

  it("finding 16: live state written before the id index existed is paged too", async () => {
    const old = { vehicleId: "f16-legacy", recordedAt: Date.now(), receivedAt: Date.now(), lat: 1, lng: 1 };
    await h.redis.hset(liveKeys.live, old.vehicleId, JSON.stringify(old));
    const res = await h.app.inject({ url: "/api/positions?limit=1", headers: viewer });
    expect(res.json().items.map((p: { vehicleId: string }) => p.vehicleId)).toEqual(["f16-legacy"]);
    const all = await h.app.inject({ url: "/api/positions?limit=1000", headers: viewer });
    expect(all.json().items).toHaveLength(FLEET + 1);
  });
});
