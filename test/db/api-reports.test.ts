import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeviceCredentials } from "../../core/vehicles.ts";
import { type ApiHarness, startApi } from "../api/harness.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";

const S = 1000;
const H = 3_600_000;
// the drive starts at a fleet-day noon at least 3 h ago, so it never crosses a Dubai midnight (a
// segment across midnight counts for neither day: the daily-distance assertion would depend on the clock)
const dubaiNoonBefore = (t: number) => {
  const midnight = Math.floor((t + 4 * H) / (24 * H)) * 24 * H - 4 * H;
  return midnight + 12 * H <= t ? midnight + 12 * H : midnight - 12 * H;
};
const T0 = dubaiNoonBefore(Date.now() - 3 * H);
const iso = (t: number) => new Date(t).toISOString();
const dubaiDate = (t: number) => new Date(t + 4 * 3_600_000).toISOString().slice(0, 10);

/**
 * The scripted drive of trips.test.ts, east along lat 25.3: into the depot (55.29…55.31) at 600 s,
 * standing inside it, out of it at 1830 s.
 */
function drive() {
  const out: { lat: number; lng: number; recordedAt: number; speed: number; ignition: boolean }[] = [];
  let lng = 55.2705;
  const at = (s: number, speed: number, ignition = true) =>
    out.push({ lat: 25.3, lng, recordedAt: T0 + s * S, speed, ignition });
  at(0, 0);
  for (let s = 30; s <= 600; s += 30) {
    lng += 0.001;
    at(s, 60);
  }
  for (let s = 630; s <= 1230; s += 30) at(s, 0);
  for (let s = 1260; s <= 1830; s += 30) {
    lng += 0.001;
    at(s, 60);
  }
  at(1860, 0);
  at(1890, 0, false);
  return out;
}

describe("reports, events, analytics and anomalies over HTTP", () => {
  let p: TestPlatform;
  let h: ApiHarness;
  let dev: DeviceCredentials;
  let fence: number;
  let viewer: { authorization: string };
  const get = async (url: string, headers: Record<string, string> = viewer) => {
    const res = await h.app.inject({ url, headers });
    return { status: res.statusCode, body: res.json() };
  };

  beforeAll(async () => {
    p = await startPlatform();
    h = await startApi({ platform: p });
    viewer = h.bearer(h.viewerToken);
    fence = (
      await p.pool.query<{ id: number }>(
        // created before the test's fixes: a geofence judges only fixes after its creation
        `INSERT INTO geofences (name, polygon, created_at)
         VALUES ('depot', ST_MakeEnvelope(55.29, 25.29, 55.31, 25.31, 4326), now() - interval '30 days')
         RETURNING id::int`,
      )
    ).rows[0]?.id as number;
    [dev] = (await p.register("rep", 1)) as [DeviceCredentials];
    const basic = `Basic ${Buffer.from(`${dev.username}:${dev.password}`).toString("base64")}`;
    const res = await h.app.inject({
      method: "POST",
      url: "/api/locations",
      headers: { authorization: basic, "content-type": "application/json" },
      payload: JSON.stringify(drive()),
    });
    expect(res.statusCode).toBe(202);
    await waitFor(
      async () =>
        (
          await get(
            `/api/reports/trips?vehicleId=${dev.id}&from=${iso(T0 - 3_600_000)}&to=${iso(Date.now())}`,
          )
        ).body,
      (b) => b.items?.length === 2,
      { what: "two trips derived" },
    );
  });
  afterAll(async () => {
    await h?.close();
    await p?.close();
  });

  it("lists a vehicle's trips and stops overlapping from/to, with times, distances and places", async () => {
    const range = `from=${iso(T0)}&to=${iso(T0 + 3_600_000)}`;
    const trips = await get(`/api/reports/trips?vehicleId=${dev.id}&${range}`);
    expect(trips.status).toBe(200);
    expect(
      trips.body.items.map((t: { startedAt: string; endedAt: string }) => [t.startedAt, t.endedAt]),
    ).toEqual([
      [iso(T0 + 30 * S), iso(T0 + 630 * S)],
      [iso(T0 + 1260 * S), iso(T0 + 1860 * S)],
    ]);
    expect(trips.body.items[0]).toMatchObject({ vehicleId: dev.id, durationS: 600, maxSpeedKmh: 60 });
    expect(trips.body.items[0].start.lat).toBeCloseTo(25.3, 9);
    expect(trips.body.items[0].end.lng).toBeCloseTo(55.2905, 9);
    const stops = await get(`/api/reports/stops?vehicleId=${dev.id}&${range}`);
    expect(stops.body.items).toEqual([
      expect.objectContaining({ startedAt: iso(T0 + 630 * S), endedAt: iso(T0 + 1260 * S), durationS: 630 }),
    ]);
    // a window covering only the second trip
    const later = await get(
      `/api/reports/trips?vehicleId=${dev.id}&from=${iso(T0 + 1300 * S)}&to=${iso(T0 + 1400 * S)}`,
    );
    expect(later.body.items).toHaveLength(1);
  });

  it("pages trips with a keyset cursor", async () => {
    const range = `vehicleId=${dev.id}&from=${iso(T0)}&to=${iso(T0 + 3_600_000)}`;
    const first = await get(`/api/reports/trips?${range}&limit=1`);
    expect(first.body.items).toHaveLength(1);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await get(`/api/reports/trips?${range}&limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.items[0].startedAt).toBe(iso(T0 + 1260 * S));
    expect(second.body.nextCursor).toBeNull();
  });

  it("lists the geofence events by vehicle, geofence and time", async () => {
    const events = await get(`/api/events?vehicleId=${dev.id}&geofenceId=${fence}`);
    expect(events.status).toBe(200);
    expect(events.body.items.map((e: { kind: string; at: string }) => [e.kind, e.at])).toEqual([
      ["enter", iso(T0 + 600 * S)],
      ["exit", iso(T0 + 1830 * S)],
    ]);
    expect(events.body.items[0]).toMatchObject({
      type: "geofence",
      geofenceName: "depot",
      vehicleId: dev.id,
    });
    const onlyExit = await get(
      `/api/events?vehicleId=${dev.id}&from=${iso(T0 + 700 * S)}&to=${iso(T0 + 2000 * S)}`,
    );
    expect(onlyExit.body.items.map((e: { kind: string }) => e.kind)).toEqual(["exit"]);
  });

  it("gives the daily analytics of the fleet day(s) the drive fell on", async () => {
    const dates = [...new Set([dubaiDate(T0), dubaiDate(T0 + 1890 * S)])];
    let fixes = 0;
    let distance = 0;
    for (const date of dates) {
      const res = await get(`/api/analytics/daily?date=${date}&vehicleId=${dev.id}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ date, timeZone: "Asia/Dubai" });
      for (const row of res.body.items) {
        fixes += row.fixes;
        distance += row.distanceM;
        // fixes 30 s apart: no silence (TRIP_GAP_SECONDS) to leave out
        expect(row).toMatchObject({ gapS: 0, gapDistanceM: 0 });
      }
    }
    expect(fixes).toBe(64);
    // 40 steps of 0.001° of longitude at 25.3° N
    expect(distance).toBeGreaterThan(40 * 100.5);
    expect(distance).toBeLessThan(40 * 100.9);
  });

  it("lists anomalies by vehicle and kind, and counts them in /metrics", async () => {
    const basic = `Basic ${Buffer.from(`${dev.username}:${dev.password}`).toString("base64")}`;
    await h.app.inject({
      method: "POST",
      url: "/api/location",
      headers: { authorization: basic, "content-type": "application/json" },
      payload: JSON.stringify({ lat: 25.3, lng: 55.27, recordedAt: T0 + 15 * S }),
    });
    const res = await waitFor(
      () => get(`/api/anomalies?vehicleId=${dev.id}&kind=late`),
      (r) => r.body.items?.length === 1,
      { what: "the late fix recorded" },
    );
    expect(res.body.items[0]).toMatchObject({
      vehicleId: dev.id,
      kind: "late",
      recordedAt: iso(T0 + 15 * S),
    });
    const metrics = (await h.app.inject({ url: "/metrics", headers: h.bearer(h.viewerToken) })).body;
    expect(metrics).toMatch(/logitrack_worker_anomalies_total\{[a-z]+="late"\} 1/);
    // the worker's latency histograms: one commit per batch, one latency per fix
    expect(metrics).toMatch(/^logitrack_pipeline_latency_ms_count 65$/m);
    expect(metrics).toMatch(/^logitrack_worker_commit_ms_count [1-9]\d*$/m);
  });

  it("refuses a call without credentials, a bad kind, and a range that ends before it starts", async () => {
    expect((await get("/api/events", {})).status).toBe(401);
    expect((await get("/api/anomalies?kind=weird")).status).toBe(400);
    const bad = await get(`/api/reports/stops?from=${iso(T0)}&to=${iso(T0 - 1)}`);
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe("querystring.to");
  });
});
