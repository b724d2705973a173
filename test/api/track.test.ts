import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TRACK_SQL } from "../../api/track-query.ts";
import { type ApiHarness, startApi } from "./harness.ts";

const DAY = 86_400_000;
// three whole UTC days ago, so the track spans day partitions of its own
const DAY0 = Math.floor(Date.now() / DAY) * DAY - 3 * DAY;

/** 100 fixes a minute apart on a straight line east, then 100 zig-zagging north-east on day 2. */
function fixes() {
  const out: { t: number; lat: number; lng: number; speed: number }[] = [];
  for (let i = 0; i < 100; i++)
    out.push({ t: DAY0 + 3_600_000 + i * 60_000, lat: 25, lng: 55 + i * 0.001, speed: i });
  for (let i = 0; i < 100; i++) {
    out.push({ t: DAY0 + DAY + i * 60_000, lat: 25.1 + i * 0.001, lng: 55.2 + (i % 2) * 0.01, speed: 50 });
  }
  return out;
}

describe("GET /api/vehicles/:id/track", () => {
  let h: ApiHarness;
  let viewer: { authorization: string };
  const iso = (t: number) => new Date(t).toISOString();
  const track = (query: string, headers = viewer, id = "trk-1") =>
    h.app.inject({ url: `/api/vehicles/${id}/track?${query}`, headers });

  beforeAll(async () => {
    h = await startApi({ env: { TRACK_MAX_POINTS: "150" } });
    viewer = h.bearer(h.viewerToken);
    await h.app.inject({
      method: "POST",
      url: "/api/vehicles",
      headers: h.bearer(h.adminToken),
      payload: { id: "trk-1" },
    });
    await h.app.inject({
      method: "POST",
      url: "/api/vehicles",
      headers: h.bearer(h.adminToken),
      payload: { id: "trk-empty" },
    });
    for (let d = -1; d <= 3; d++)
      await h.pool.query("SELECT ensure_location_partition($1, 'day')", [new Date(DAY0 + d * DAY)]);
    const f = fixes();
    await h.pool.query(
      `INSERT INTO vehicle_locations (vehicle_id, recorded_at, location, speed, received_at)
       SELECT 'trk-1', to_timestamp(t / 1000.0), ST_SetSRID(ST_MakePoint(lng, lat), 4326), speed, now()
       FROM unnest($1::float8[], $2::float8[], $3::float8[], $4::real[]) AS u(t, lat, lng, speed)`,
      [f.map((x) => x.t), f.map((x) => x.lat), f.map((x) => x.lng), f.map((x) => x.speed)],
    );
  });
  afterAll(() => h?.close());

  it("returns a GeoJSON LineString in time order with per-point properties, to exclusive", async () => {
    const from = DAY0 + 3_600_000;
    const res = await track(`from=${iso(from)}&to=${iso(from + 50 * 60_000)}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/geo\+json/);
    const f = res.json();
    expect(f.type).toBe("Feature");
    expect(f.geometry.type).toBe("LineString");
    expect(f.geometry.coordinates).toHaveLength(50);
    expect(f.geometry.coordinates[0]).toEqual([55, 25]);
    expect(f.geometry.coordinates[49][0]).toBeCloseTo(55.049, 9);
    expect(f.properties.coordinateProperties.times[0]).toBe(iso(from));
    expect(f.properties.coordinateProperties.speed.slice(0, 3)).toEqual([0, 1, 2]);
    expect(f.properties).toMatchObject({ vehicleId: "trk-1", count: 50, simplified: false });
  });

  it("serves GPX and CSV", async () => {
    const q = `from=${iso(DAY0)}&to=${iso(DAY0 + DAY)}`;
    const gpx = await track(`${q}&format=gpx`);
    expect(gpx.statusCode).toBe(200);
    expect(gpx.headers["content-type"]).toMatch(/^application\/gpx\+xml/);
    expect(gpx.body.match(/<trkpt /g)).toHaveLength(100);
    expect(gpx.body).toContain(`<trkpt lat="25" lon="55"><time>${iso(DAY0 + 3_600_000)}</time></trkpt>`);
    const csv = await track(`${q}&format=csv`);
    expect(csv.headers["content-type"]).toMatch(/^text\/csv/);
    const lines = csv.body.trim().split("\n");
    expect(lines[0]).toBe("recordedAt,lat,lng,speed,heading,altitude,accuracy,ignition,odometer");
    expect(lines).toHaveLength(101);
    expect(lines[1]).toBe(`${iso(DAY0 + 3_600_000)},25,55,0,,,,,`);
  });

  it("names every format's file after the fleet day (FLEET_TZ, Asia/Dubai here) the range starts on", async () => {
    // 22:00 UTC is 02:00 the next day in Dubai
    const q = `from=${iso(DAY0 - 2 * 3_600_000)}&to=${iso(DAY0 + DAY)}`;
    const day = iso(DAY0).slice(0, 10);
    for (const [format, ext] of [
      ["geojson", "geojson"],
      ["gpx", "gpx"],
      ["csv", "csv"],
    ]) {
      const r = await track(`${q}&format=${format}`);
      expect(r.headers["content-disposition"]).toBe(`attachment; filename="trk-1-${day}.${ext}"`);
    }
  });

  it("simplifies on request, keeping the ends, the shape and each kept point's properties", async () => {
    const q = `from=${iso(DAY0)}&to=${iso(DAY0 + 3 * DAY)}`;
    expect((await track(q)).statusCode).toBe(422); // 200 points > TRACK_MAX_POINTS 150
    const res = await track(`${q}&simplify=50`);
    expect(res.statusCode).toBe(200);
    const f = res.json();
    const times: string[] = f.properties.coordinateProperties.times;
    // the straight day-1 line collapses to its ends; the day-2 zig-zag (1 km swings) stays
    expect(times.filter((t) => t < iso(DAY0 + DAY))).toEqual([
      iso(DAY0 + 3_600_000),
      iso(DAY0 + 3_600_000 + 99 * 60_000),
    ]);
    expect(times.filter((t) => t >= iso(DAY0 + DAY)).length).toBeGreaterThan(90);
    expect(f.properties.coordinateProperties.speed[1]).toBe(99);
    expect(f.properties.simplified).toBe(true);
  });

  it("reads only the partitions of the asked range (partition pruning)", async () => {
    const plan = await h.pool.query<{ "QUERY PLAN": string }>(`EXPLAIN ${TRACK_SQL}`, [
      "trk-1",
      new Date(DAY0 + DAY + 3_600_000),
      new Date(DAY0 + DAY + 7_200_000),
      1000,
    ]);
    const text = plan.rows.map((r) => r["QUERY PLAN"]).join("\n");
    const day = (t: number) => new Date(t).toISOString().slice(0, 10).replaceAll("-", "");
    expect(text).toContain(`vehicle_locations_p${day(DAY0 + DAY)}`);
    expect(text).not.toContain(`vehicle_locations_p${day(DAY0)}`);
    expect(text).not.toContain(`vehicle_locations_p${day(DAY0 + 2 * DAY)}`);
  });

  it("answers an empty track for a vehicle without fixes, and 404 for an unknown one", async () => {
    const q = `from=${iso(DAY0)}&to=${iso(DAY0 + DAY)}`;
    const empty = await track(q, viewer, "trk-empty");
    expect(empty.statusCode).toBe(200);
    expect(empty.json()).toMatchObject({ geometry: null, properties: { count: 0 } });
    expect((await track(q, viewer, "nobody")).statusCode).toBe(404);
  });

  it("answers 400 naming the field for missing, reversed, too long or malformed parameters", async () => {
    const cases: [string, string][] = [
      [`to=${iso(DAY0)}`, "querystring.from"],
      [`from=yesterday&to=${iso(DAY0)}`, "querystring.from"],
      [`from=${iso(DAY0)}&to=${iso(DAY0)}`, "querystring.to"],
      [`from=${iso(DAY0)}&to=${iso(DAY0 + 32 * DAY)}`, "querystring.to"],
      [`from=${iso(DAY0)}&to=${iso(DAY0 + DAY)}&format=kml`, "querystring.format"],
      [`from=${iso(DAY0)}&to=${iso(DAY0 + DAY)}&simplify=-1`, "querystring.simplify"],
    ];
    for (const [q, field] of cases) {
      const res = await track(q);
      expect(res.statusCode, q).toBe(400);
      expect(res.json().field, q).toBe(field);
    }
  });

  it("needs credentials (401)", async () => {
    const res = await track(`from=${iso(DAY0)}&to=${iso(DAY0 + DAY)}`, {} as { authorization: string });
    expect(res.statusCode).toBe(401);
  });
});
