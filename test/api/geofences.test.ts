import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startApi } from "./harness.ts";

// rounded as PostGIS's ST_AsGeoJSON writes them (9 decimals)
const r9 = (v: number) => Math.round(v * 1e9) / 1e9;
const square = (x: number, y: number, d = 0.01) => [
  [
    [x, y],
    [r9(x + d), y],
    [r9(x + d), r9(y + d)],
    [x, r9(y + d)],
    [x, y],
  ],
];
const feature = (name: string, coordinates: number[][][], props: Record<string, unknown> = {}) => ({
  type: "Feature",
  geometry: { type: "Polygon", coordinates },
  properties: { name, ...props },
});

describe("geofences API (GeoJSON Features)", () => {
  let h: ApiHarness;
  let admin: { authorization: string };
  const create = (body: unknown, headers = admin) =>
    h.app.inject({ method: "POST", url: "/api/geofences", headers, payload: body as object });

  beforeAll(async () => {
    h = await startApi();
    admin = h.bearer(h.adminToken);
  });
  afterAll(() => h?.close());

  it("creates a polygon and reads it back as a Feature, stored as PostGIS geometry", async () => {
    const res = await create(feature("Depot", square(55.1, 25.1), { dwellSeconds: 30 }));
    expect(res.statusCode).toBe(201);
    const f = res.json();
    expect(f).toMatchObject({
      type: "Feature",
      geometry: { type: "Polygon", coordinates: square(55.1, 25.1) },
    });
    expect(f.properties).toMatchObject({ name: "Depot", dwellSeconds: 30, version: 1 });
    const get = await h.app.inject({ url: `/api/geofences/${f.id}`, headers: h.bearer(h.viewerToken) });
    expect(get.statusCode).toBe(200);
    expect(get.json()).toEqual(f);
    const inside = await h.pool.query(
      "SELECT ST_Contains(polygon, ST_SetSRID(ST_MakePoint(55.105, 25.105), 4326)) AS c FROM geofences WHERE id = $1",
      [f.id],
    );
    expect(inside.rows[0].c).toBe(true);
  });

  it("refuses a self-intersecting polygon with PostGIS's reason (400)", async () => {
    const bowtie = [
      [
        [55, 25],
        [55.01, 25.01],
        [55.01, 25],
        [55, 25.01],
        [55, 25],
      ],
    ];
    const res = await create(feature("Bowtie", bowtie));
    expect(res.statusCode).toBe(400);
    expect(res.json().field).toBe("body.geometry");
    expect(res.json().reason).toMatch(/^Self-intersection\[55\.005 25\.005\]/);
    expect(
      (await h.pool.query("SELECT count(*)::int AS n FROM geofences WHERE name = 'Bowtie'")).rows[0].n,
    ).toBe(0);
  });

  it("answers 400 naming the field for malformed Features", async () => {
    const open = [
      [
        [55, 25],
        [55.01, 25],
        [55.01, 25.01],
        [55, 25.02],
      ],
    ];
    const cases: [unknown, RegExp][] = [
      [feature("Open ring", open), /^body\.geometry\.coordinates\.0/],
      [feature("", square(1, 1)), /^body\.properties\.name/],
      [
        { ...feature("Point", square(1, 1)), geometry: { type: "Point", coordinates: [1, 1] } },
        /^body\.geometry/,
      ],
      [feature("Far", square(200, 1)), /^body\.geometry\.coordinates/],
      [feature("Dwell", square(1, 1), { dwellSeconds: -1 }), /^body\.properties\.dwellSeconds/],
    ];
    for (const [body, field] of cases) {
      const res = await create(body);
      expect(res.statusCode).toBe(400);
      expect(res.json().field).toMatch(field);
    }
  });

  it("replaces with PUT (If-Match optional, 409 when stale) and deletes", async () => {
    const id = (await create(feature("Yard", square(10, 10)))).json().id;
    const put = (body: unknown, headers: Record<string, string> = {}) =>
      h.app.inject({
        method: "PUT",
        url: `/api/geofences/${id}`,
        headers: { ...admin, ...headers },
        payload: body as object,
      });
    const moved = await put(feature("Yard 2", square(11, 11)), { "if-match": '"1"' });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toMatchObject({
      id,
      properties: { name: "Yard 2", version: 2 },
      geometry: { coordinates: square(11, 11) },
    });
    const stale = await put(feature("Yard 3", square(12, 12)), { "if-match": "1" });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().currentVersion).toBe(2);
    expect((await put(feature("Yard 3", square(12, 12)))).statusCode).toBe(200);
    const del = await h.app.inject({ method: "DELETE", url: `/api/geofences/${id}`, headers: admin });
    expect(del.statusCode).toBe(204);
    expect((await h.app.inject({ url: `/api/geofences/${id}`, headers: admin })).statusCode).toBe(404);
    expect(
      (await h.app.inject({ method: "DELETE", url: `/api/geofences/${id}`, headers: admin })).statusCode,
    ).toBe(404);
    expect((await put(feature("Ghost", square(1, 1)))).statusCode).toBe(404);
  });

  it("keeps a deleted geofence's history: every version with its validity, every change", async () => {
    const id = (await create(feature("Gate", square(20, 20), { dwellSeconds: 5 }))).json().id;
    const put = await h.app.inject({
      method: "PUT",
      url: `/api/geofences/${id}`,
      headers: admin,
      payload: feature("Gate B", square(21, 21)),
    });
    expect(put.statusCode).toBe(200);
    expect(
      (await h.app.inject({ method: "DELETE", url: `/api/geofences/${id}`, headers: admin })).statusCode,
    ).toBe(204);
    const res = await h.app.inject({ url: `/api/geofences/${id}/history`, headers: h.bearer(h.viewerToken) });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ id, deleted: true });
    expect(body.changes.map((c: { kind: string }) => c.kind)).toEqual(["create", "edit", "delete"]);
    expect(body.versions).toHaveLength(2);
    const [first, second] = body.versions;
    expect(first).toMatchObject({ name: "Gate", dwellSeconds: 5, geometry: { coordinates: square(20, 20) } });
    expect(second).toMatchObject({ name: "Gate B", geometry: { coordinates: square(21, 21) } });
    // one version ends where the next starts; the deletion closes the last
    expect(first.validTo).toBe(second.validFrom);
    expect(second.validTo).toBe(body.changes[2].at);
    expect((await h.app.inject({ url: "/api/geofences/999999999/history", headers: admin })).statusCode).toBe(
      404,
    );
  });

  it("lists a FeatureCollection in pages", async () => {
    for (let i = 0; i < 3; i++) await create(feature(`List ${i}`, square(20 + i, 20)));
    const first = await h.app.inject({ url: "/api/geofences?limit=2", headers: admin });
    expect(first.json().type).toBe("FeatureCollection");
    expect(first.json().features).toHaveLength(2);
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page: {
        json: () => { features: { properties: { name: string } }[]; nextCursor: string | null };
      } = await h.app.inject({
        url: `/api/geofences?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        headers: admin,
      });
      all.push(...page.json().features.map((f) => f.properties.name));
      cursor = page.json().nextCursor;
    } while (cursor);
    expect(all.filter((n) => n.startsWith("List "))).toEqual(["List 0", "List 1", "List 2"]);
  });

  it("lets viewers read but not write (403), and nobody in without credentials (401); 400 for a bad id", async () => {
    expect((await create(feature("V", square(1, 1)), h.bearer(h.viewerToken))).statusCode).toBe(403);
    expect((await h.app.inject({ url: "/api/geofences" })).statusCode).toBe(401);
    const bad = await h.app.inject({ url: "/api/geofences/abc", headers: admin });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe("params.id");
  });
});
