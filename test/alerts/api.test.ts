import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startApi } from "../api/harness.ts";

describe("alert rules and alerts API", () => {
  let h: ApiHarness;
  let admin: { authorization: string };
  let viewer: { authorization: string };
  const rules = (
    method: "POST" | "GET" | "PATCH" | "DELETE",
    url: string,
    payload?: object,
    headers = admin,
  ) => h.app.inject({ method, url: `/api/alert-rules${url}`, headers, ...(payload ? { payload } : {}) });

  beforeAll(async () => {
    h = await startApi();
    admin = h.bearer(h.adminToken);
    viewer = h.bearer(h.viewerToken);
  });
  afterAll(() => h?.close());

  const addChannel = async (name: string): Promise<number> => {
    const res = await h.app.inject({
      method: "POST",
      url: "/api/notification-channels",
      headers: admin,
      payload: { kind: "email", name, to: ["ops@example.com"] },
    });
    expect(res.statusCode).toBe(201);
    return res.json().id;
  };

  it("creates, reads, edits and deletes a speeding rule", async () => {
    const channel = await addChannel("rule crud");
    const res = await rules("POST", "", {
      name: "over 80",
      kind: "speeding",
      params: { limitKmh: 80, minSeconds: 10 },
      channelIds: [channel],
      quietHours: { from: "22:00", to: "06:00" },
    });
    expect(res.statusCode).toBe(201);
    const rule = res.json();
    expect(rule).toMatchObject({
      name: "over 80",
      kind: "speeding",
      params: { limitKmh: 80, minSeconds: 10 },
      scope: { kind: "fleet" },
      channelIds: [channel],
      quietHours: { from: "22:00", to: "06:00" },
      enabled: true,
      version: 1,
    });
    expect((await rules("GET", `/${rule.id}`, undefined, viewer)).json()).toEqual(rule);
    expect((await rules("GET", "", undefined, viewer)).json().items).toContainEqual(rule);

    const patched = await rules("PATCH", `/${rule.id}`, {
      params: { limitKmh: 90, minSeconds: 5 },
      quietHours: null,
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({
      params: { limitKmh: 90, minSeconds: 5 },
      quietHours: null,
      version: 2,
    });
    // the edit is a new version, applying to fixes recorded from now on
    const versions = await h.pool.query(
      "SELECT params FROM alert_rule_versions WHERE rule_id = $1 ORDER BY valid_from",
      [rule.id],
    );
    expect(versions.rows.map((r) => r.params.limitKmh)).toEqual([80, 90]);
    const stale = await h.app.inject({
      method: "PATCH",
      url: `/api/alert-rules/${rule.id}`,
      headers: { ...admin, "if-match": '"1"' },
      payload: { name: "x" },
    });
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ code: "E_VERSION_CONFLICT", currentVersion: 2 });

    expect((await rules("DELETE", `/${rule.id}`)).statusCode).toBe(204);
    expect((await rules("GET", `/${rule.id}`)).json()).toMatchObject({ code: "E_NOT_FOUND" });
  });

  it("validates params per kind, the scope and the quiet hours, and takes offline / no_fix rules", async () => {
    const bad = async (body: object, field: string) => {
      const res = await rules("POST", "", { name: "r", ...body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json()).toMatchObject({ code: "E_VALIDATION", field });
      return res.json().message as string;
    };
    await bad({ kind: "speeding", params: { limitKmh: -1, minSeconds: 10 } }, "body.params.limitKmh");
    await bad({ kind: "speeding", params: { limitKmh: 80 } }, "body.params.minSeconds");
    await bad({ kind: "speeding", params: { limitKmh: 80, minSeconds: 1, extra: 1 } }, "body.params");
    await bad({ kind: "threshold", params: { attribute: "battery", above: 1, below: 2 } }, "body.params");
    // an attribute name no fix can carry (a letter or digit first, as core/fix.ts's attribute keys)
    await bad({ kind: "threshold", params: { attribute: "__proto__", above: 1 } }, "body.params.attribute");
    await bad({ kind: "threshold", params: { attribute: "_battery", above: 1 } }, "body.params.attribute");
    await bad(
      { kind: "idling", params: { minMinutes: 5 }, scope: { kind: "group", groupId: 999 } },
      "body.scope.groupId",
    );
    await bad(
      { kind: "idling", params: { minMinutes: 5 }, quietHours: { from: "25:00", to: "06:00" } },
      "body.quietHours.from",
    );
    await bad({ kind: "offline", params: { minutes: 0 } }, "body.params.minutes");
    await bad({ kind: "no_fix", params: {} }, "body.params.minutes");
    for (const kind of ["offline", "no_fix"]) {
      const made = await rules("POST", "", { name: kind, kind, params: { minutes: 10 } });
      expect(made.statusCode).toBe(201);
      expect(made.json()).toMatchObject({ kind, params: { minutes: 10 } });
    }
    const ok = await rules("POST", "", { name: "any enter", kind: "geofence_enter", params: {} });
    expect(ok.statusCode).toBe(201);
    const kind = await rules("PATCH", `/${ok.json().id}`, { kind: "geofence_exit" });
    expect(kind.json()).toMatchObject({ code: "E_VALIDATION", field: "body.kind" });
  });

  it("refuses rules naming a geofence, vehicle or channel that does not exist, on create and edit", async () => {
    const refused = async (method: "POST" | "PATCH", url: string, body: object, field: string) => {
      const res = await rules(method, url, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json()).toMatchObject({ code: "E_VALIDATION", field });
      return res.json().message as string;
    };
    expect(
      await refused(
        "POST",
        "",
        { name: "g", kind: "geofence_enter", params: { geofenceId: 9999 } },
        "body.params.geofenceId",
      ),
    ).toContain("no geofence 9999");
    const idle = { name: "i", kind: "idling", params: { minMinutes: 5 } };
    expect(
      await refused(
        "POST",
        "",
        { ...idle, scope: { kind: "vehicle", vehicleId: "nope" } },
        "body.scope.vehicleId",
      ),
    ).toContain("no vehicle nope");
    const channel = await addChannel("exists");
    expect(
      await refused("POST", "", { ...idle, channelIds: [channel, 999_999] }, "body.channelIds"),
    ).toContain("no notification channel 999999");
    expect(
      await refused("POST", "", { ...idle, channelIds: [channel, channel] }, "body.channelIds"),
    ).toContain("a channel is named once");
    const made = await rules("POST", "", { ...idle, channelIds: [channel] });
    expect(made.statusCode).toBe(201);
    const id = made.json().id;
    expect(await refused("PATCH", `/${id}`, { channelIds: [999_998] }, "body.channelIds")).toContain(
      "999998",
    );
    await refused(
      "PATCH",
      `/${id}`,
      { scope: { kind: "vehicle", vehicleId: "nope" } },
      "body.scope.vehicleId",
    );
    const fence = await rules("POST", "", { name: "e", kind: "geofence_exit", params: {} });
    await refused("PATCH", `/${fence.json().id}`, { params: { geofenceId: 9999 } }, "body.params.geofenceId");

    // a channel that rules use is not deleted: the answer names them
    const del = () =>
      h.app.inject({ method: "DELETE", url: `/api/notification-channels/${channel}`, headers: admin });
    const inUse = await del();
    expect(inUse.statusCode).toBe(409);
    expect(inUse.json()).toMatchObject({ code: "E_IN_USE", rules: ["i"] });
    expect(inUse.json().message).toContain('"i"');
    expect((await rules("PATCH", `/${id}`, { channelIds: [] })).statusCode).toBe(200);
    expect((await del()).statusCode).toBe(204);
  });

  it("lets a viewer read rules and alerts, but not write rules or acknowledge", async () => {
    const body = { name: "v", kind: "idling", params: { minMinutes: 5 } };
    expect((await rules("POST", "", body, viewer)).json()).toMatchObject({ code: "E_FORBIDDEN" });
    const id = (await rules("POST", "", body)).json().id;
    expect((await rules("PATCH", `/${id}`, { name: "w" }, viewer)).statusCode).toBe(403);
    expect((await rules("DELETE", `/${id}`, undefined, viewer)).statusCode).toBe(403);
    expect((await rules("GET", `/${id}`, undefined, viewer)).statusCode).toBe(200);
    expect((await h.app.inject({ url: "/api/alert-rules" })).statusCode).toBe(401);
  });

  it("lists alerts newest first with filters and pages, and acknowledges one (who and when, once)", async () => {
    const t = Date.parse("2026-01-10T10:00:00Z");
    for (const [i, v] of ["al-api-a", "al-api-b", "al-api-a"].entries()) {
      await h.pool.query(
        `INSERT INTO alerts (rule_id, rule_name, vehicle_id, kind, started_at, ended_at, confirmed_at, peak, lat, lng)
         VALUES (1, 'r', $1, 'speeding', $2, $3, $2, '{"speedKmh": 99}', 25, 55)`,
        [v, new Date(t + i * 60_000), new Date(t + i * 60_000 + 30_000)],
      );
    }
    const list = async (qs: string, headers = viewer) =>
      (await h.app.inject({ url: `/api/alerts?${qs}`, headers })).json();
    const a = await list("vehicleId=al-api-a");
    expect(a.items.map((x: { startedAt: string }) => x.startedAt)).toEqual([
      "2026-01-10T10:02:00.000Z",
      "2026-01-10T10:00:00.000Z",
    ]);
    expect(a.items[0]).toMatchObject({
      kind: "speeding",
      peak: { speedKmh: 99 },
      endedAt: "2026-01-10T10:02:30.000Z",
    });
    const p1 = await list("kind=speeding&limit=2&from=2026-01-10T00:00:00Z&to=2026-01-11T00:00:00Z");
    const p2 = await list(
      `kind=speeding&limit=2&from=2026-01-10T00:00:00Z&to=2026-01-11T00:00:00Z&cursor=${p1.nextCursor}`,
    );
    expect([...p1.items, ...p2.items].map((x: { vehicleId: string }) => x.vehicleId)).toEqual([
      "al-api-a",
      "al-api-b",
      "al-api-a",
    ]);
    expect(p2.nextCursor).toBeNull();
    expect(await list("kind=nope")).toMatchObject({ code: "E_VALIDATION" });

    const id = a.items[0].id;
    const refused = await h.app.inject({ method: "POST", url: `/api/alerts/${id}/ack`, headers: viewer });
    expect(refused.statusCode).toBe(403);
    const ack = await h.app.inject({ method: "POST", url: `/api/alerts/${id}/ack`, headers: admin });
    expect(ack.statusCode).toBe(200);
    expect(ack.json()).toMatchObject({ id, acknowledgedBy: expect.stringMatching(/^token:/) });
    expect(Date.parse(ack.json().acknowledgedAt)).toBeGreaterThan(Date.now() - 60_000);
    const again = await h.app.inject({ method: "POST", url: `/api/alerts/${id}/ack`, headers: admin });
    expect(again.json().acknowledgedAt).toBe(ack.json().acknowledgedAt);
    expect(again.json().acknowledgedBy).toBe(ack.json().acknowledgedBy);
    expect((await list("acknowledged=false&vehicleId=al-api-a")).items).toHaveLength(1);

    // "acknowledge all shown": the ids listed, once each, audited
    const shown = (await list("acknowledged=false")).items.map((x: { id: number }) => x.id);
    expect(shown.length).toBeGreaterThan(1);
    const bulk = (ids: number[], headers = admin) =>
      h.app.inject({ method: "POST", url: "/api/alerts/ack", headers, payload: { ids } });
    expect((await bulk(shown, viewer)).statusCode).toBe(403);
    expect((await bulk([])).json()).toMatchObject({ code: "E_VALIDATION" });
    const done = await bulk([...shown, id]);
    expect(done.statusCode).toBe(200);
    expect(done.json().acknowledged).toEqual([...shown].sort((x, y) => x - y));
    expect((await list("acknowledged=false")).items).toHaveLength(0);
    expect((await bulk(shown)).json()).toEqual({ acknowledged: [] });
    const audit = await h.pool.query(
      "SELECT params FROM audit_log WHERE action = 'POST /api/alerts/ack' AND status = 200 ORDER BY id",
    );
    expect(audit.rows[0]?.params.acknowledged).toEqual([...shown].sort((x, y) => x - y));
    expect(
      (await h.app.inject({ method: "POST", url: "/api/alerts/999999/ack", headers: admin })).json(),
    ).toMatchObject({
      code: "E_NOT_FOUND",
    });
  });
});
