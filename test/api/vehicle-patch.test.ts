import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startApi } from "./harness.ts";

describe("PATCH /api/vehicles/:id (optimistic locking)", () => {
  let h: ApiHarness;
  let admin: { authorization: string };

  beforeAll(async () => {
    h = await startApi();
    admin = h.bearer(h.adminToken);
  });
  afterAll(() => h?.close());

  async function register(id: string) {
    const res = await h.app.inject({ method: "POST", url: "/api/vehicles", headers: admin, payload: { id } });
    expect(res.statusCode).toBe(201);
  }
  const patch = (id: string, payload: object, headers: Record<string, string> = {}) =>
    h.app.inject({ method: "PATCH", url: `/api/vehicles/${id}`, headers: { ...admin, ...headers }, payload });

  it("updates with the current version, bumps it and returns the new ETag", async () => {
    await register("p-1");
    const get = await h.app.inject({ url: "/api/vehicles/p-1", headers: admin });
    expect(get.headers.etag).toBe('"1"');
    const res = await patch(
      "p-1",
      { name: "Renamed", status: "maintenance" },
      { "if-match": get.headers.etag as string },
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: "p-1", name: "Renamed", status: "maintenance", version: 2 });
    expect(res.headers.etag).toBe('"2"');
    const cleared = await patch("p-1", { name: null }, { "if-match": "2" });
    expect(cleared.json()).toMatchObject({ name: null, version: 3 });
  });

  it("answers 428 without If-Match and 409 with the current version on a stale one", async () => {
    await register("p-2");
    expect((await patch("p-2", { name: "x" })).statusCode).toBe(428);
    expect((await patch("p-2", { name: "x" }, { "if-match": "1" })).statusCode).toBe(200);
    const stale = await patch("p-2", { name: "y" }, { "if-match": "1" });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().currentVersion).toBe(2);
    const row = await h.pool.query("SELECT name FROM vehicles WHERE id = 'p-2'");
    expect(row.rows[0].name).toBe("x");
  });

  it("of two concurrent PATCHes with the same version, exactly one wins (200) and one gets 409", async () => {
    for (let round = 0; round < 10; round++) {
      const id = `p-race-${round}`;
      await register(id);
      const results = await Promise.all([
        patch(id, { name: "A" }, { "if-match": "1" }),
        patch(id, { name: "B" }, { "if-match": "1" }),
      ]);
      const codes = results.map((r) => r.statusCode).sort();
      expect(codes).toEqual([200, 409]);
      const winner = results.find((r) => r.statusCode === 200)?.json().name;
      const stored = await h.pool.query("SELECT name, version FROM vehicles WHERE id = $1", [id]);
      expect(stored.rows[0]).toEqual({ name: winner, version: 2 });
    }
  });

  it("answers 400 naming the field for bad bodies and versions, 404 for an unknown vehicle", async () => {
    await register("p-3");
    const status = await patch("p-3", { status: "parked" }, { "if-match": "1" });
    expect(status.statusCode).toBe(400);
    expect(status.json().field).toBe("body.status");
    const unknownKey = await patch("p-3", { version: 7 }, { "if-match": "1" });
    expect(unknownKey.statusCode).toBe(400);
    const empty = await patch("p-3", {}, { "if-match": "1" });
    expect(empty.statusCode).toBe(400);
    const badVersion = await patch("p-3", { name: "x" }, { "if-match": "one" });
    expect(badVersion.statusCode).toBe(400);
    expect(badVersion.json().field).toBe("headers.if-match");
    expect((await patch("nobody", { name: "x" }, { "if-match": "1" })).statusCode).toBe(404);
  });

  it("refuses viewers (403)", async () => {
    await register("p-4");
    const res = await h.app.inject({
      method: "PATCH",
      url: "/api/vehicles/p-4",
      headers: { ...h.bearer(h.viewerToken), "if-match": "1" },
      payload: { name: "x" },
    });
    expect(res.statusCode).toBe(403);
  });

  it("sets, changes or removes the IMEI (validated, 409 when another vehicle has it), audited", async () => {
    await register("p-imei-a");
    await register("p-imei-b");
    const set = await patch("p-imei-a", { imei: "358480081234561" }, { "if-match": "1" });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toMatchObject({ imei: "358480081234561", version: 2 });
    const bad = await patch("p-imei-b", { imei: "35848008123456x" }, { "if-match": "1" });
    expect(bad.statusCode).toBe(400);
    const taken = await patch("p-imei-b", { imei: "358480081234561" }, { "if-match": "1" });
    expect(taken.statusCode).toBe(409);
    expect(taken.json()).toMatchObject({
      code: "E_ALREADY_EXISTS",
      message: expect.stringContaining("358480081234561"),
    });
    expect((await h.app.inject({ url: "/api/vehicles/p-imei-b", headers: admin })).json().imei).toBeNull();
    const cleared = await patch("p-imei-a", { imei: null }, { "if-match": "2" });
    expect(cleared.json()).toMatchObject({ imei: null, version: 3 });
    const audit = await h.pool.query<{ status: number }>(
      "SELECT status FROM audit_log WHERE action = 'PATCH /api/vehicles/:id' AND entity_id = 'p-imei-a' ORDER BY id",
    );
    expect(audit.rows.map((r) => r.status)).toEqual([200, 200]);
  });
});
