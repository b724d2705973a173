import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addVehicle } from "../../core/vehicles.ts";
import { type ApiHarness, startApi } from "./harness.ts";

interface Row {
  action: string;
  entityId: string | null;
  params: Record<string, unknown>;
  status: number;
  before: unknown;
  after: unknown;
}

/** What each audit row says happened (api/audit-hook.ts notes set by the routes), and no secret. */
describe("audit log detail", () => {
  let h: ApiHarness;
  let admin: Record<string, string>;
  const json = () => ({ ...admin, "content-type": "application/json" });
  const latest = async (action: string): Promise<Row> => {
    const r = await h.app.inject({ url: `/api/audit?action=${encodeURIComponent(action)}`, headers: admin });
    const row = (r.json().items as Row[]).find((i) => i.action === action);
    if (!row) throw new Error(`no audit row for ${action}`);
    return row;
  };

  beforeAll(async () => {
    h = await startApi();
    admin = h.bearer(h.adminToken);
  });
  afterAll(() => h?.close());

  it("records a new user's name, role and grant, and not the password", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/api/users",
      headers: json(),
      payload: JSON.stringify({ username: "aud-view1", role: "viewer", password: "secret-pw-123" }),
    });
    expect(res.statusCode).toBe(201);
    const row = await latest("POST /api/users");
    expect(row).toMatchObject({ entityId: "aud-view1", after: { role: "viewer", groupIds: [] } });
    expect(row.after).toHaveProperty("allVehicles");
  });

  it("records disable and enable as before/after status", async () => {
    await h.app.inject({ method: "POST", url: "/api/users/aud-view1/disable", headers: admin });
    expect(await latest("POST /api/users/:username/disable")).toMatchObject({
      entityId: "aud-view1",
      before: { disabled: false },
      after: { disabled: true },
    });
    await h.app.inject({ method: "POST", url: "/api/users/aud-view1/enable", headers: admin });
    expect(await latest("POST /api/users/:username/enable")).toMatchObject({
      before: { disabled: true },
      after: { disabled: false },
    });
  });

  it("records a CSV import's dry run as such and the ids an import created", async () => {
    const csv = { ...admin, "content-type": "text/csv" };
    const body = "id,name\naud-t1,One\naud-t2,Two\nbad id!,Three\n";
    await h.app.inject({
      method: "POST",
      url: "/api/vehicles/import?dryRun=true",
      headers: csv,
      payload: body,
    });
    expect(await latest("POST /api/vehicles/import")).toMatchObject({
      params: { dryRun: true },
      after: { dryRun: true, created: [], rows: 3, failed: 1 },
    });
    const res = await h.app.inject({
      method: "POST",
      url: "/api/vehicles/import",
      headers: csv,
      payload: body,
    });
    expect(res.json().items[2].error).toContain("letters, digits, _ and -, at most 64");
    expect(await latest("POST /api/vehicles/import")).toMatchObject({
      params: { dryRun: false },
      after: { dryRun: false, created: ["aud-t1", "aud-t2"] },
    });
  });

  it("records a command's payload, capped", async () => {
    await h.app.inject({
      method: "POST",
      url: "/api/vehicles/aud-t1/commands",
      headers: json(),
      payload: JSON.stringify({ payload: { type: "reboot" } }),
    });
    expect((await latest("POST /api/vehicles/:id/commands")).after).toMatchObject({
      payload: { type: "reboot" },
    });
    await h.app.inject({
      method: "POST",
      url: "/api/vehicles/aud-t1/commands",
      headers: json(),
      payload: JSON.stringify({ payload: { text: "x".repeat(5000) } }),
    });
    const big = (await latest("POST /api/vehicles/:id/commands")).after as { payload: { chars: number } };
    expect(big.payload.chars).toBeGreaterThan(5000);
    expect(JSON.stringify(big).length).toBeLessThan(1200);
  });

  it("records group membership changes by vehicle id, a refused add with its ids", async () => {
    const g = (
      await h.app.inject({
        method: "POST",
        url: "/api/groups",
        headers: json(),
        payload: '{"name":"AudNorth"}',
      })
    ).json();
    await h.app.inject({
      method: "POST",
      url: `/api/groups/${g.id}/vehicles`,
      headers: json(),
      payload: JSON.stringify({ vehicleIds: ["aud-t1"] }),
    });
    expect(await latest("POST /api/groups/:id/vehicles")).toMatchObject({
      before: { vehicleIds: [] },
      after: { vehicleIds: ["aud-t1"] },
    });
    const refused = await h.app.inject({
      method: "POST",
      url: `/api/groups/${g.id}/vehicles`,
      headers: json(),
      payload: JSON.stringify({ vehicleIds: ["nonexistent-9"] }),
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().message).toBe("there is no vehicle nonexistent-9");
    expect(await latest("POST /api/groups/:id/vehicles")).toMatchObject({
      status: 400,
      params: { vehicleIds: ["nonexistent-9"] },
    });
    await h.app.inject({ method: "DELETE", url: `/api/groups/${g.id}/vehicles/aud-t1`, headers: admin });
    expect(await latest("DELETE /api/groups/:id/vehicles/:vehicleId")).toMatchObject({
      before: { vehicleIds: ["aud-t1"] },
      after: { vehicleIds: [] },
    });
  });

  it("keeps every secret out: passwords, tokens, device secrets and keys", async () => {
    const creds = await addVehicle(h.pool, { id: "aud-rot" });
    const rotated = await h.app.inject({
      method: "POST",
      url: "/api/vehicles/aud-rot/credentials",
      headers: admin,
    });
    expect(rotated.statusCode).toBe(200);
    expect((await latest("POST /api/vehicles/:id/credentials")).after).toBe("rotated");
    const secrets = [
      "secret-pw-123",
      creds.password,
      rotated.json().credentials.password,
      rotated.json().credentials.deviceKey,
    ];
    const reset = await h.app.inject({
      method: "POST",
      url: "/api/users/aud-view1/password",
      headers: json(),
      payload: "{}",
    });
    secrets.push(reset.json().password);
    const token = await h.app.inject({
      method: "POST",
      url: "/api/tokens",
      headers: json(),
      payload: JSON.stringify({ name: "aud-ci", role: "viewer" }),
    });
    secrets.push(token.json().token);
    const integration = await h.app.inject({
      method: "POST",
      url: "/api/integrations",
      headers: json(),
      payload: JSON.stringify({ name: "aud-int" }),
    });
    secrets.push(integration.json().password);
    const imported = await h.app.inject({
      method: "POST",
      url: "/api/vehicles/import",
      headers: { ...admin, "content-type": "text/csv" },
      payload: "id\naud-t9\n",
    });
    secrets.push(imported.json().items[0].credentials.password);
    expect(secrets.every((s) => typeof s === "string" && s.length >= 8)).toBe(true);
    const dump = JSON.stringify((await h.pool.query("SELECT * FROM audit_log")).rows);
    for (const s of secrets) expect(dump).not.toContain(s);
  });
});
