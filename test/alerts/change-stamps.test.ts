import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fix, startWorker, type WorkerHarness } from "../db/harness.ts";
import { addGroup, addRule, alertsOf } from "./alert-rules.ts";

const S = 1000;

/**
 * The worker caches the rules and the groups they scope by until sql/021's change stamps move
 * (worker/derive/alert-rules.ts). The stamps' rows are the cache's only signal: their loss must
 * not leave a worker judging with rules it read long ago (found by a review: a worker then kept
 * its rules for the rest of its life).
 */
describe("the rule cache's change stamps", () => {
  let w: WorkerHarness;
  /** deletes stamp rows as a restore that lost them would leave the table */
  const lose = async (where: string) => {
    await w.pool.query("ALTER TABLE change_stamps DISABLE TRIGGER change_stamps_no_delete");
    await w.pool.query(`DELETE FROM change_stamps ${where}`);
    await w.pool.query("ALTER TABLE change_stamps ENABLE TRIGGER change_stamps_no_delete");
  };

  beforeAll(async () => {
    w = await startWorker();
  });
  afterAll(() => w?.close());

  it("refuses deleting or truncating the stamps", async () => {
    await expect(w.pool.query("DELETE FROM change_stamps")).rejects.toThrow(/change_stamps rows are kept/);
    await expect(w.pool.query("TRUNCATE change_stamps")).rejects.toThrow(/change_stamps rows are kept/);
    const r = await w.pool.query<{ name: string }>("SELECT name FROM change_stamps ORDER BY name");
    expect(r.rows.map((x) => x.name)).toEqual(["alert_rules", "vehicle_groups"]);
  });

  it("with both rows gone, a rule added later still judges the next batch, and its change brings the row back", async () => {
    const v = "cs-stamps-gone";
    const t = Date.now() - 10 * 60 * S;
    await w.send([fix(v, t, 25, 55, { speed: 10 })]);
    await lose("");
    // a batch after the rows went: without stamps it caches nothing
    await w.send([fix(v, t + 10 * S, 25, 55.001, { speed: 10 })]);
    const rule = await addRule(w.pool, {
      name: "over 50 (added later)",
      kind: "speeding",
      params: { limitKmh: 50, minSeconds: 0 },
      scope: { kind: "vehicle", vehicleId: v },
    });
    await w.send([
      fix(v, t + 20 * S, 25, 55.002, { speed: 100 }),
      fix(v, t + 30 * S, 25, 55.003, { speed: 10 }),
    ]);
    expect(await alertsOf(w.pool, v, rule)).toMatchObject([{ startedAt: t + 20 * S, endedAt: t + 30 * S }]);
    const r = await w.pool.query<{ name: string }>("SELECT name FROM change_stamps ORDER BY name");
    expect(r.rows.map((x) => x.name)).toEqual(["alert_rules"]);
  });

  it("with the members' row gone, a vehicle put in a group is judged by the group's rule", async () => {
    const v = "cs-group-row-gone";
    const g = await addGroup(w.pool, "cs");
    const rule = await addRule(w.pool, {
      name: "cs group over 50",
      kind: "speeding",
      params: { limitKmh: 50, minSeconds: 0 },
      scope: { kind: "group", groupId: g },
    });
    await lose("WHERE name = 'vehicle_groups'");
    const t = Date.now() - 5 * 60 * S;
    await w.send([fix(v, t, 25, 55, { speed: 10 })]);
    await w.pool.query("INSERT INTO vehicle_group_members (group_id, vehicle_id) VALUES ($1, $2)", [g, v]);
    await w.send([
      fix(v, t + 10 * S, 25, 55.001, { speed: 100 }),
      fix(v, t + 20 * S, 25, 55.002, { speed: 10 }),
    ]);
    expect(await alertsOf(w.pool, v, rule)).toMatchObject([{ startedAt: t + 10 * S }]);
  });

  it("a change to members of a group no rule scopes by moves the stamp and changes no alert", async () => {
    const v = "cs-other-group";
    const rule = await addRule(w.pool, {
      name: "cs fleet over 90",
      kind: "speeding",
      params: { limitKmh: 90, minSeconds: 0 },
      scope: { kind: "vehicle", vehicleId: v },
    });
    const stamp = async () =>
      (
        await w.pool.query<{ s: string }>(
          "SELECT n || '/' || token AS s FROM change_stamps WHERE name = 'vehicle_groups'",
        )
      ).rows[0]?.s;
    const t = Date.now() - 4 * 60 * S;
    await w.send([fix(v, t, 25, 55, { speed: 100 })]);
    const before = await stamp();
    const g = await addGroup(w.pool, "cs-unused");
    await w.pool.query("INSERT INTO vehicle_group_members (group_id, vehicle_id) VALUES ($1, $2)", [g, v]);
    expect(await stamp()).not.toBe(before);
    await w.send([fix(v, t + 10 * S, 25, 55.001, { speed: 10 })]);
    expect(await alertsOf(w.pool, v, rule)).toMatchObject([{ startedAt: t, endedAt: t + 10 * S }]);
  });
});
