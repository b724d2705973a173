import { execFile } from "node:child_process";
import { userInfo } from "node:os";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAuditedRoute } from "../../api/audit-hook.ts";
import { addVehicle } from "../../core/vehicles.ts";
import { type ApiHarness, startApi } from "./harness.ts";

const run = promisify(execFile);

/** The audit log (sql/017_access_audit.sql, api/audit-hook.ts, scripts/cli-audit.ts). */
describe("audit log", () => {
  let h: ApiHarness;
  let admin: { authorization: string };
  const rows = async (action: string) =>
    (
      await h.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = $1", [
        action,
      ])
    ).rows[0]?.n ?? 0;

  beforeAll(async () => {
    h = await startApi();
    admin = h.bearer(h.adminToken);
  });
  afterAll(() => h?.close());

  it("leaves exactly one row for every write route, whatever the outcome", async () => {
    const writes = [
      ...new Map(
        h.app
          .routeRules()
          .filter((r) => isAuditedRoute(r.method, r.access))
          .map((r) => [`${r.method} ${r.url}`, r]),
      ).values(),
    ];
    expect(writes.length).toBeGreaterThan(40);
    const wrong: string[] = [];
    for (const r of writes) {
      const action = `${r.method} ${r.url}`;
      // a value no account, vehicle or queue has: the write refers to nothing (404, 400) or succeeds
      const url = r.url.replace(/:[A-Za-z]+|\*/g, "999999");
      let headers: Record<string, string> = { ...admin, "content-type": "application/json" };
      let payload = "{}";
      if (r.url === "/api/auth/login") payload = JSON.stringify({ token: h.adminToken });
      if (r.url === "/api/auth/logout") {
        const login = await h.app.inject({
          method: "POST",
          url: "/api/auth/login",
          headers: { "content-type": "application/json" },
          payload: JSON.stringify({ token: h.adminToken }),
        });
        headers = { cookie: `lt_session=${login.cookies[0]?.value}`, "content-type": "application/json" };
      }
      const before = await rows(action);
      const res = await h.app.inject({ method: r.method as "POST", url, headers, payload });
      const added = (await rows(action)) - before;
      if (added !== 1) wrong.push(`${action} (${res.statusCode}): ${added} rows`);
    }
    expect(wrong).toEqual([]);
    console.log(`write routes audited: ${writes.length}`);
  });

  it("records who, from where, the outcome, and the entity before and after", async () => {
    await addVehicle(h.pool, { id: "audit-van" });
    const res = await h.app.inject({
      method: "PATCH",
      url: "/api/vehicles/audit-van",
      headers: {
        ...admin,
        "if-match": "1",
        "content-type": "application/json",
        "x-request-id": "audit-req-1",
      },
      payload: JSON.stringify({ name: "Van 1" }),
    });
    expect(res.statusCode).toBe(200);
    const list = await h.app.inject({ url: "/api/audit?entity=vehicles&entityId=audit-van", headers: admin });
    expect(list.statusCode).toBe(200);
    const [row] = list.json().items;
    expect(row).toMatchObject({
      actor: "token:test-admin",
      source: "api",
      ip: "127.0.0.1",
      action: "PATCH /api/vehicles/:id",
      entity: "vehicles",
      entityId: "audit-van",
      params: { id: "audit-van" },
      status: 200,
      before: { name: null, version: 1 },
      after: { name: "Van 1", version: 2 },
      requestId: "audit-req-1",
    });
    // a viewer's refused attempt is a row too, under its name
    const refused = await h.app.inject({
      method: "DELETE",
      url: "/api/vehicles/audit-van",
      headers: h.bearer(h.viewerToken),
    });
    expect(refused.statusCode).toBe(403);
    const mine = await h.app.inject({ url: "/api/audit?actor=token:test-viewer", headers: admin });
    expect(mine.json().items[0]).toMatchObject({ action: "DELETE /api/vehicles/:id", status: 403 });
  });

  it("filters by actor, action, entity, id and time, pages newest first, and is for admins only", async () => {
    const all = await h.app.inject({ url: "/api/audit?limit=2", headers: admin });
    const page = all.json();
    expect(page.items).toHaveLength(2);
    expect(page.items[0].id).toBeGreaterThan(page.items[1].id);
    const next = await h.app.inject({ url: `/api/audit?limit=2&cursor=${page.nextCursor}`, headers: admin });
    expect(next.json().items[0].id).toBeLessThan(page.items[1].id);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const none = await h.app.inject({
      url: `/api/audit?from=${encodeURIComponent(future)}&to=${encodeURIComponent(future.replace(/^\d{4}/, "2999"))}`,
      headers: admin,
    });
    expect(none.json().items).toEqual([]);
    // part of the action, any case: every write to a group's members, none other
    const groupWrites = await h.app.inject({ url: "/api/audit?action=GROUPS/:ID/VEHICLES", headers: admin });
    const actions = groupWrites.json().items.map((r: { action: string }) => r.action);
    expect(actions.length).toBeGreaterThan(0);
    expect(new Set(actions)).toEqual(
      new Set(["POST /api/groups/:id/vehicles", "DELETE /api/groups/:id/vehicles/:vehicleId"]),
    );
    expect((await h.app.inject({ url: "/api/audit", headers: h.bearer(h.viewerToken) })).statusCode).toBe(
      403,
    );
  });

  it("refuses UPDATE, DELETE and TRUNCATE of audit rows, whoever asks", async () => {
    // a row of its own: row triggers fire only for rows that exist
    await h.app.inject({ method: "POST", url: "/api/users/nobody/logout", headers: admin });
    expect(await rows("POST /api/users/:username/logout")).toBeGreaterThan(0);
    for (const sql of [
      "UPDATE audit_log SET actor = 'someone else'",
      "DELETE FROM audit_log",
      "TRUNCATE audit_log",
    ])
      await expect(h.pool.query(sql), sql).rejects.toThrow(/append-only/);
    expect(await rows("POST /api/users/:username/logout")).toBeGreaterThan(0);
  });

  it("records the CLI's writes as cli:<os user>, without secrets", async () => {
    const env = { ...process.env, DATABASE_URL: h.config.DATABASE_URL, REDIS_URL: h.config.REDIS_URL };
    await run(
      process.execPath,
      [
        "--import",
        "tsx",
        "scripts/cli.ts",
        "user",
        "add",
        "audit-ann",
        "--role",
        "viewer",
        "--password",
        "ann's password",
      ],
      { env },
    );
    await run(process.execPath, ["--import", "tsx", "scripts/cli.ts", "user", "list"], { env });
    const r = await h.pool.query(
      "SELECT actor, source, action, entity, entity_id, params, status FROM audit_log WHERE source = 'cli'",
    );
    expect(r.rows).toEqual([
      expect.objectContaining({
        actor: `cli:${userInfo().username}`,
        action: "user add",
        entity: "users",
        entity_id: "audit-ann",
        status: 0,
      }),
    ]);
    expect(JSON.stringify(r.rows[0].params)).not.toContain("ann's password");
  });
});
