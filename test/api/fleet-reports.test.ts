import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startApi } from "./harness.ts";

const N = 250;
const id = (i: number) => `fr-${String(i).padStart(3, "0")}`;
const DAY1 = "2001-03-01";
const DAY2 = "2001-03-02";
const range = "from=2001-03-01T00:00:00Z&to=2001-03-02T00:00:00Z";

/**
 * The fleet-sized reports: a summary over fleet days, trips, stops and events sorted and paged in
 * SQL (api/routes/fleet-summary.ts, api/report-query.ts), filtered, and exported as CSV in the
 * caller's units.
 */
describe("fleet reports: sorted, paged, filtered, exported", () => {
  let h: ApiHarness;
  let viewer: { authorization: string };
  const get = async (url: string) => {
    const res = await h.app.inject({ url, headers: viewer });
    return { status: res.statusCode, headers: res.headers, text: res.body, json: () => res.json() };
  };

  beforeAll(async () => {
    h = await startApi();
    viewer = h.bearer(h.viewerToken);
    // vehicle i drove i km on day 1 and 1 km on day 2; fr-007 is "Truck Seven"
    await h.pool.query(
      `INSERT INTO vehicles (id, name, credential_hash)
       SELECT 'fr-' || lpad(i::text, 3, '0'), CASE WHEN i = 7 THEN 'Truck Seven' END, decode('00', 'hex')
       FROM generate_series(0, $1 - 1) i`,
      [N],
    );
    await h.pool.query(
      `INSERT INTO daily_vehicle_stats (vehicle_id, day, fixes, distance_m, moving_s, idle_s, moving_speed_s,
                                        max_speed_kmh, first_fix_at, last_fix_at)
       SELECT 'fr-' || lpad(i::text, 3, '0'), d.day, 10, CASE WHEN d.day = $2::date THEN i * 1000 ELSE 1000 END,
              3600, 600, 3600 * 40, 50 + i % 30, d.day + interval '8 hours', d.day + interval '17 hours'
       FROM generate_series(0, $1 - 1) i, (VALUES ($2::date), ($3::date)) d(day)`,
      [N, DAY1, DAY2],
    );
    // trips of vehicles 0..19 on day 1: vehicle i's is (i * 7) % 20 km long, a stop after each
    await h.pool.query(
      `INSERT INTO trips (vehicle_id, started_at, ended_at, closed_at, distance_m, max_speed_kmh, avg_speed_kmh,
                          start_location, end_location)
       SELECT 'fr-' || lpad(i::text, 3, '0'), $1::timestamptz + i * interval '1 minute',
              $1::timestamptz + i * interval '1 minute' + interval '30 minutes', now(), ((i * 7) % 20) * 1000,
              90, 40, ST_Point(55.2, 25.2, 4326), ST_Point(55.3, 25.3, 4326)
       FROM generate_series(0, 19) i`,
      [`${DAY1}T08:00:00Z`],
    );
    await h.pool.query(
      `INSERT INTO stops (vehicle_id, started_at, ended_at, closed_at, location)
       SELECT 'fr-' || lpad(i::text, 3, '0'), $1::timestamptz + i * interval '1 minute',
              $1::timestamptz + interval '1 hour', now(), ST_Point(55.3, 25.3, 4326)
       FROM generate_series(0, 19) i`,
      [`${DAY1}T09:00:00Z`],
    );
    await h.pool.query(
      `INSERT INTO geofence_events (vehicle_id, geofence_id, geofence_name, kind, at, confirmed_at, location)
       SELECT 'fr-' || lpad((i % 3)::text, 3, '0'), 1, 'Jebel Ali depot', CASE WHEN i % 2 = 0 THEN 'enter' ELSE 'exit' END,
              $1::timestamptz + i * interval '1 minute', $1::timestamptz + i * interval '1 minute', ST_Point(55.3, 25.3, 4326)
       FROM generate_series(0, 11) i`,
      [`${DAY1}T10:00:00Z`],
    );
    await h.pool.query(
      `INSERT INTO presence_events (vehicle_id, kind, at) VALUES ('fr-000', 'online', $1), ('fr-001', 'offline', $1)`,
      [`${DAY1}T11:00:00Z`],
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  it("sums the fleet days per vehicle, sorted by distance in SQL and paged with a total", async () => {
    const first = await get(
      `/api/reports/summary?from=${DAY1}&to=${DAY2}&sort=distance&order=desc&limit=100`,
    );
    expect(first.status).toBe(200);
    const body = first.json();
    expect(body.total).toBe(N);
    expect(body.items).toHaveLength(100);
    expect(body.items[0]).toMatchObject({
      vehicleId: id(N - 1),
      days: 2,
      fixes: 20,
      distanceM: N * 1000,
      movingS: 7200,
      idleS: 1200,
      avgSpeedKmh: 40,
    });
    const third = (
      await get(`/api/reports/summary?from=${DAY1}&to=${DAY2}&sort=distance&order=desc&limit=100&offset=200`)
    ).json();
    expect(third.items.map((r: { vehicleId: string }) => r.vehicleId)).toEqual(
      Array.from({ length: 50 }, (_, k) => id(49 - k)),
    );
    const asc = (await get(`/api/reports/summary?from=${DAY1}&to=${DAY1}&sort=distance&limit=3`)).json();
    expect(asc.items.map((r: { distanceM: number }) => r.distanceM)).toEqual([0, 1000, 2000]);
  });

  it("filters the summary by vehicle id or name", async () => {
    const byName = (await get(`/api/reports/summary?from=${DAY1}&to=${DAY1}&q=truck%20seven`)).json();
    expect(byName.items).toEqual([expect.objectContaining({ vehicleId: "fr-007", name: "Truck Seven" })]);
    const byId = (await get(`/api/reports/summary?from=${DAY1}&to=${DAY1}&q=FR-24`)).json();
    expect(byId.total).toBe(10);
  });

  it("exports the whole sorted summary as CSV, with units in the column names", async () => {
    const csv = await get(`/api/reports/summary?from=${DAY1}&to=${DAY1}&sort=distance&order=desc&format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers["content-type"]).toMatch(/^text\/csv/);
    expect(csv.headers["content-disposition"]).toBe(`attachment; filename="summary-${DAY1}-${DAY1}.csv"`);
    const lines = csv.text.trimEnd().split("\r\n");
    expect(lines[0]).toBe(
      "vehicleId,name,days,fixes,distance_km,moving_h,idle_h,avg_speed_kmh,max_speed_kmh",
    );
    expect(lines).toHaveLength(N + 1);
    expect(lines[1]).toBe(`${id(N - 1)},,1,10,249.000,1.000,0.167,40.0,${50 + ((N - 1) % 30)}.0`);
    const miles = await get(
      `/api/reports/summary?from=${DAY1}&to=${DAY1}&q=fr-007&format=csv&units=imperial`,
    );
    expect(miles.text).toBe(
      "vehicleId,name,days,fixes,distance_mi,moving_h,idle_h,avg_speed_mph,max_speed_mph\r\n" +
        "fr-007,Truck Seven,1,10,4.350,1.000,0.167,24.9,35.4\r\n",
    );
  });

  it("refuses a summary range that ends before it starts or spans more than a year, in words", async () => {
    const back = await get(`/api/reports/summary?from=${DAY2}&to=${DAY1}`);
    expect(back.status).toBe(400);
    expect(back.json()).toMatchObject({ code: "E_VALIDATION", field: "querystring.to" });
    expect((await get("/api/reports/summary?from=2001-01-01&to=2002-01-02")).status).toBe(400);
  });

  it("sorts the fleet's trips by distance and pages them by offset; without a sort they page by cursor", async () => {
    const page = (await get(`/api/reports/trips?${range}&sort=distance&order=desc&limit=5&offset=5`)).json();
    expect(page.total).toBe(20);
    expect(page.items.map((t: { distanceM: number }) => t.distanceM)).toEqual([
      14000, 13000, 12000, 11000, 10000,
    ]);
    const keyset = (await get(`/api/reports/trips?${range}&limit=5`)).json();
    expect(keyset.items.map((t: { vehicleId: string }) => t.vehicleId)).toEqual([0, 1, 2, 3, 4].map(id));
    expect(keyset.nextCursor).not.toBeNull();
    expect(keyset.total).toBeUndefined();
    const stops = (await get(`/api/reports/stops?${range}&sort=duration&order=desc&limit=2`)).json();
    expect(stops.items.map((s: { vehicleId: string }) => s.vehicleId)).toEqual([id(0), id(1)]);
  });

  it("exports trips and stops as CSV in the chosen order and units", async () => {
    const csv = await get(`/api/reports/trips?${range}&sort=distance&order=desc&format=csv&units=imperial`);
    const lines = csv.text.trimEnd().split("\r\n");
    expect(lines[0]).toBe(
      "vehicleId,startedAt,endedAt,duration_h,distance_mi,avg_speed_mph,max_speed_mph,start_lat,start_lng,end_lat,end_lng",
    );
    expect(lines).toHaveLength(21);
    // 19 km: vehicle 17 ((17 * 7) % 20 = 19)
    expect(lines[1]).toBe(
      "fr-017,2001-03-01T08:17:00.000Z,2001-03-01T08:47:00.000Z,0.500,11.806,24.9,55.9,25.200000,55.200000,25.300000,55.300000",
    );
    const stops = await get(`/api/reports/stops?${range}&format=csv`);
    expect(stops.text.split("\r\n")[0]).toBe("vehicleId,startedAt,endedAt,duration_h,lat,lng");
    expect(stops.text.trimEnd().split("\r\n")).toHaveLength(21);
  });

  it("refuses a sorted export of more than 100,000 rows, and exports them oldest first", async () => {
    await h.pool.query(
      `INSERT INTO trips (vehicle_id, started_at, ended_at, closed_at, distance_m, start_location, end_location)
       SELECT 'fr-big', $1::timestamptz + i * interval '1 second', $1::timestamptz + (i + 1) * interval '1 second',
              now(), i, ST_Point(55.2, 25.2, 4326), ST_Point(55.3, 25.3, 4326)
       FROM generate_series(0, 100000) i`,
      ["2001-04-01T00:00:00Z"],
    );
    const big = "from=2001-04-01T00:00:00Z&to=2001-04-03T00:00:00Z";
    const sorted = await get(`/api/reports/trips?${big}&sort=distance&format=csv`);
    expect(sorted.status).toBe(400);
    expect(sorted.json()).toMatchObject({
      code: "E_VALIDATION",
      field: "querystring.sort",
      reason:
        "a sorted export may hold at most 100000 rows and this one has 100001: export it by start time (no sort) or shorten the range",
    });
    // oldest first streams every row, page after page by the keyset cursor
    const all = await get(`/api/reports/trips?${big}&format=csv`);
    expect(all.status).toBe(200);
    const lines = all.text.trimEnd().split("\r\n");
    expect(lines).toHaveLength(100_002);
    expect(new Set(lines).size).toBe(100_002);
    expect(lines[100_001]?.startsWith("fr-big,2001-04-02T03:46:40.000Z,")).toBe(true);
  }, 120_000);

  it("filters events by kind, newest first, and exports them", async () => {
    const enters = (await get(`/api/events?${range}&kind=enter&order=desc&limit=4`)).json();
    expect(enters.items.map((e: { kind: string }) => e.kind)).toEqual(["enter", "enter", "enter", "enter"]);
    expect(enters.items.map((e: { at: string }) => e.at)).toEqual([
      "2001-03-01T10:10:00.000Z",
      "2001-03-01T10:08:00.000Z",
      "2001-03-01T10:06:00.000Z",
      "2001-03-01T10:04:00.000Z",
    ]);
    const next = (
      await get(`/api/events?${range}&kind=enter&order=desc&limit=4&cursor=${enters.nextCursor}`)
    ).json();
    expect(next.items.map((e: { at: string }) => e.at)).toEqual([
      "2001-03-01T10:02:00.000Z",
      "2001-03-01T10:00:00.000Z",
    ]);
    expect(next.nextCursor).toBeNull();

    const csv = await get(`/api/events?${range}&vehicleId=fr-001&format=csv`);
    expect(csv.headers["content-disposition"]).toBe('attachment; filename="events-2001-03-01.csv"');
    expect(csv.text.trimEnd().split("\r\n")).toEqual([
      "at,vehicleId,type,kind,geofenceId,geofenceName,confirmedAt,lat,lng",
      "2001-03-01T10:01:00.000Z,fr-001,geofence,exit,1,Jebel Ali depot,2001-03-01T10:01:00.000Z,25.300000,55.300000",
      "2001-03-01T10:04:00.000Z,fr-001,geofence,enter,1,Jebel Ali depot,2001-03-01T10:04:00.000Z,25.300000,55.300000",
      "2001-03-01T10:07:00.000Z,fr-001,geofence,exit,1,Jebel Ali depot,2001-03-01T10:07:00.000Z,25.300000,55.300000",
      "2001-03-01T10:10:00.000Z,fr-001,geofence,enter,1,Jebel Ali depot,2001-03-01T10:10:00.000Z,25.300000,55.300000",
      "2001-03-01T11:00:00.000Z,fr-001,presence,offline,,,,,",
    ]);
  });
});
