import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AlertMessage } from "../../core/alerts.ts";
import { fix, HOUR, startWorker, type WorkerHarness } from "../db/harness.ts";
import { waitFor } from "../support/wait.ts";
import { addGroup, addRule, alertsOf, recordingNotifier } from "./alert-rules.ts";

const S = 1000;
const T0 = Date.now() - 6 * HOUR;

/** "HH:MM" of `t` in the fleet's time zone (the tests' default, Asia/Dubai) */
const localClock = (t: number) =>
  new Intl.DateTimeFormat("en-GB", {
    timeZone: "Asia/Dubai",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(t);

describe("alert rule kinds, scope and quiet hours", () => {
  let w: WorkerHarness;
  const notifier = recordingNotifier();

  beforeAll(async () => {
    w = await startWorker({}, { notify: notifier.notify });
  });
  afterAll(() => w?.close());

  it("idling: ignition on and standing for minMinutes, ended by moving off", async () => {
    const v = "al-idle";
    const rule = await addRule(w.pool, {
      name: "idle 5 min",
      kind: "idling",
      params: { minMinutes: 5 },
      scope: { kind: "vehicle", vehicleId: v },
    });
    // 0-2 min ignition off, 3-10 min on and standing, 11 min driving; then standing 2 min only
    const fixes = Array.from({ length: 16 }, (_, i) =>
      fix(v, T0 + i * 60 * S, 25, 55 + (i === 11 ? 0.01 : 0), {
        ignition: i >= 3,
        speed: i === 11 ? 40 : 0,
      }),
    );
    await w.send(fixes.reverse());
    expect(await alertsOf(w.pool, v, rule)).toMatchObject([
      { startedAt: T0 + 3 * 60 * S, endedAt: T0 + 11 * 60 * S, peak: null },
    ]);
  });

  it("threshold on a fix field (below, with its lowest value) and on a device attribute (above)", async () => {
    const v = "al-thr";
    const low = await addRule(w.pool, {
      name: "altitude below 10",
      kind: "threshold",
      params: { attribute: "altitude", below: 10, minSeconds: 20 },
      scope: { kind: "vehicle", vehicleId: v },
    });
    const alts = [50, 8, 5, 2, 9, 40, 3, 60];
    await w.send(alts.map((altitude, i) => fix(v, T0 + i * 10 * S, 25, 55, { altitude })));
    // 8, 5, 2, 9 for 30 s: an episode; 3 alone is shorter than minSeconds
    expect(await alertsOf(w.pool, v, low)).toMatchObject([
      { startedAt: T0 + 10 * S, endedAt: T0 + 50 * S, peak: { value: 2 } },
    ]);

    // device attributes (the Teltonika build adds vehicle_locations.attributes): a fix lacking the
    // attribute changes nothing; read whether the column exists or not
    const u = "al-thr-attr";
    const battery = await addRule(w.pool, {
      name: "external voltage over 14",
      kind: "threshold",
      params: { attribute: "extVoltage", above: 14 },
      scope: { kind: "vehicle", vehicleId: u },
    });
    await w.pool.query("ALTER TABLE vehicle_locations ADD COLUMN IF NOT EXISTS attributes jsonb");
    const volts = [12.5, 14.5, null, 15.2, 13.9, 12];
    for (const [i, volt] of volts.entries()) {
      await w.pool.query(
        `INSERT INTO vehicle_locations (vehicle_id, recorded_at, location, received_at, attributes)
         VALUES ($1, $2, ST_SetSRID(ST_MakePoint(55, 25), 4326), now(), $3)`,
        [u, new Date(T0 + i * 10 * S), volt === null ? null : JSON.stringify({ extVoltage: volt })],
      );
    }
    // the vehicle's first batch derives its whole stored history
    await w.send([fix(u, T0 + 60 * S, 25, 55)]);
    expect(await alertsOf(w.pool, u, battery)).toMatchObject([
      { startedAt: T0 + 10 * S, endedAt: T0 + 40 * S, peak: { value: 15.2 } },
    ]);
  });

  it("scope: a rule for a group, one for a vehicle, one for the fleet", async () => {
    const g = await addGroup(w.pool, "vans");
    await w.pool.query("INSERT INTO vehicle_group_members (group_id, vehicle_id) VALUES ($1, 'al-sc-van')", [
      g,
    ]);
    const params = { limitKmh: 80, minSeconds: 0 };
    const group = await addRule(w.pool, {
      name: "vans",
      kind: "speeding",
      params,
      scope: { kind: "group", groupId: g },
    });
    const one = await addRule(w.pool, {
      name: "one",
      kind: "speeding",
      params,
      scope: { kind: "vehicle", vehicleId: "al-sc-car" },
    });
    const fleet = await addRule(w.pool, { name: "fleet", kind: "speeding", params });
    const ids = ["al-sc-van", "al-sc-car", "al-sc-bus"];
    await w.send(ids.flatMap((v) => [90, 50].map((speed, i) => fix(v, T0 + i * 10 * S, 25, 55, { speed }))));
    const count = async (v: string, rule: number) => (await alertsOf(w.pool, v, rule)).length;
    expect(
      await Promise.all(
        ids.map(async (v) => [await count(v, group), await count(v, one), await count(v, fleet)]),
      ),
    ).toEqual([
      [1, 0, 1],
      [0, 1, 1],
      [0, 0, 1],
    ]);
  });

  it("quiet hours: an alert starting in them is stored and streamed as quiet, and not notified", async () => {
    const v = "al-quiet";
    const params = { limitKmh: 80, minSeconds: 0 };
    const scope = { kind: "vehicle", vehicleId: v };
    const around = { from: localClock(T0 - HOUR), to: localClock(T0 + HOUR) };
    const elsewhere = { from: localClock(T0 + 2 * HOUR), to: localClock(T0 + 3 * HOUR) };
    const quiet = await addRule(w.pool, {
      name: "quiet",
      kind: "speeding",
      params,
      scope,
      quietHours: around,
      // both notify a channel: what keeps the quiet one from the notifier is its quiet hours
      channelIds: [1],
    });
    const loud = await addRule(w.pool, {
      name: "loud",
      kind: "speeding",
      params,
      scope,
      quietHours: elsewhere,
      channelIds: [1],
    });
    await w.send([90, 50].map((speed, i) => fix(v, T0 + i * 10 * S, 25, 55, { speed })));
    expect(await alertsOf(w.pool, v, quiet)).toMatchObject([{ quiet: true }]);
    expect(await alertsOf(w.pool, v, loud)).toMatchObject([{ quiet: false }]);
    const msgs = await waitFor(
      async () => (w.published as AlertMessage[]).filter((m) => m.ruleId === quiet || m.ruleId === loud),
      (m) => m.length >= 4,
      { timeoutMs: 5000 },
    );
    expect(msgs.filter((m) => m.quiet).map((m) => [m.ruleId, m.phase])).toEqual([
      [quiet, "start"],
      [quiet, "end"],
    ]);
    // the fleet-wide rule of the scope test applies here too: only this test's two rules count
    const notified = await waitFor(
      async () => notifier.of(v).filter((n) => n.alert.ruleId === quiet || n.alert.ruleId === loud),
      (n) => n.length >= 2,
      { timeoutMs: 15_000 },
    );
    expect(notified.map((n) => [n.alert.ruleId, n.alert.phase])).toEqual([
      [loud, "start"],
      [loud, "end"],
    ]);
  });

  it("geofence_enter: one instant alert per enter event of the geofence", async () => {
    const v = "al-fence";
    const depot = (
      await w.pool.query<{ id: number }>(
        `INSERT INTO geofences (name, polygon, dwell_seconds, created_at)
         VALUES ('depot', ST_MakeEnvelope(55.29, 25.29, 55.31, 25.31, 4326), 0, now() - interval '30 days') RETURNING id::int`,
      )
    ).rows[0]?.id as number;
    const rule = await addRule(w.pool, {
      name: "enters depot",
      kind: "geofence_enter",
      params: { geofenceId: depot },
      scope: { kind: "vehicle", vehicleId: v },
    });
    const fixes = Array.from({ length: 31 }, (_, i) =>
      fix(v, T0 + i * 30 * S, 25.3, 55.271 + i * 0.002, { speed: 25 }),
    );
    await w.send(fixes.reverse());
    const enterAt = T0 + 10 * 30 * S;
    expect(await alertsOf(w.pool, v, rule)).toMatchObject([{ startedAt: enterAt, endedAt: enterAt }]);
    const msgs = await waitFor(
      async () => (w.published as AlertMessage[]).filter((m) => m.type === "alert" && m.vehicleId === v),
      (m) => m.length >= 1,
      { timeoutMs: 5000 },
    );
    expect(msgs.map((m) => [m.phase, m.ruleName])).toEqual([["start", "enters depot"]]);
  });

  it("a vehicle put in a group between two batches is judged by the group's rule in the second (the cached groups are re-read)", async () => {
    const v = "al-joins";
    const g = await addGroup(w.pool, "joiners");
    const rule = await addRule(w.pool, {
      name: "joiners over 50",
      kind: "speeding",
      params: { limitKmh: 50, minSeconds: 0 },
      scope: { kind: "group", groupId: g },
    });
    const t = Date.now() - 10 * 60 * S;
    await w.send([fix(v, t, 25, 55, { speed: 100 }), fix(v, t + 10 * S, 25, 55.001, { speed: 10 })]);
    expect(await alertsOf(w.pool, v, rule)).toEqual([]);
    await w.pool.query("INSERT INTO vehicle_group_members (group_id, vehicle_id) VALUES ($1, $2)", [g, v]);
    await w.send([fix(v, t + 20 * S, 25, 55.002, { speed: 100 })]);
    expect(await alertsOf(w.pool, v, rule)).toMatchObject([{ startedAt: t + 20 * S }]);
    // and taken out again: the next episode is not the group's
    await w.pool.query("DELETE FROM vehicle_group_members WHERE group_id = $1 AND vehicle_id = $2", [g, v]);
    await w.send([
      fix(v, t + 30 * S, 25, 55.003, { speed: 10 }),
      fix(v, t + 40 * S, 25, 55.004, { speed: 100 }),
    ]);
    expect(await alertsOf(w.pool, v, rule)).toHaveLength(1);
  });

  it("a channel given to a rule between two batches has the second's alert handed to the notifier", async () => {
    const v = "al-channel-later";
    const rule = await addRule(w.pool, {
      name: "over 70, told later",
      kind: "speeding",
      params: { limitKmh: 70, minSeconds: 0 },
      scope: { kind: "vehicle", vehicleId: v },
    });
    const t = Date.now() - 10 * 60 * S;
    await w.send([fix(v, t, 25, 55, { speed: 100 }), fix(v, t + 10 * S, 25, 55.001, { speed: 10 })]);
    expect(await alertsOf(w.pool, v, rule)).toHaveLength(1);
    await w.pool.query("UPDATE alert_rules SET channel_ids = '{7}' WHERE id = $1", [rule]);
    await w.send([fix(v, t + 20 * S, 25, 55.002, { speed: 100 })]);
    const notified = await waitFor(
      async () => notifier.of(v),
      (n) => n.length >= 1,
      { timeoutMs: 15_000, what: "the second episode's start handed over" },
    );
    expect(notified.map((n) => [n.alert.startedAt, n.alert.phase, n.channelIds])).toEqual([
      [new Date(t + 20 * S).toISOString(), "start", [7]],
    ]);
  });

  it("a rule deleted between two batches no longer judges the second (the worker's cached rules are re-read)", async () => {
    const v = "al-deleted";
    const rule = await addRule(w.pool, {
      name: "over 50",
      kind: "speeding",
      params: { limitKmh: 50, minSeconds: 0 },
      scope: { kind: "vehicle", vehicleId: v },
    });
    await w.send([fix(v, Date.now() - 60 * S, 25, 55, { speed: 10 })]);
    // the deletion only closes the rule's version (valid_to): the table keeps as many rows as before
    await w.pool.query("DELETE FROM alert_rules WHERE id = $1", [rule]);
    await new Promise((r) => setTimeout(r, 20));
    await w.send([fix(v, Date.now(), 25, 55.001, { speed: 100 })]);
    expect(await alertsOf(w.pool, v, rule)).toEqual([]);
  });
});
