import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addVehicle } from "../../core/vehicles.ts";
import { sweepPresenceAlerts } from "../../worker/derive/presence-alerts.ts";
import { fix, MINUTE, startWorker, type WorkerHarness } from "../db/harness.ts";
import { waitFor } from "../support/wait.ts";
import { addRule, alertsOf, recordingNotifier } from "./alert-rules.ts";

/** What broker/presence-sweep.ts writes for a transition. */
async function presence(pool: pg.Pool, vehicleId: string, online: boolean, at: number): Promise<void> {
  await pool.query(
    `WITH changed AS (
       UPDATE vehicles SET online = $2, online_since = CASE WHEN $2 THEN $3::timestamptz END, last_seen_at = $3
       WHERE id = $1 RETURNING id
     )
     INSERT INTO presence_events (vehicle_id, kind, at) SELECT id, $4, $3 FROM changed`,
    [vehicleId, online, new Date(at), online ? "online" : "offline"],
  );
}

describe("offline and no_fix alert rules, judged by a wall-clock sweep", () => {
  let w: WorkerHarness;
  const notifier = recordingNotifier();
  const T = Date.now();
  const sweep = (now: number) => sweepPresenceAlerts(w.pool, { now, fleetTz: "UTC" });
  const notified = (vehicleId: string, n: number) => {
    w.worker.kickAlerts();
    return waitFor(
      async () => notifier.of(vehicleId).map((i) => [i.alert.phase, i.alert.id, i.channelIds]),
      (items) => items.length >= n,
      { timeoutMs: 15_000, what: `${n} notified phases of ${vehicleId}` },
    );
  };

  beforeAll(async () => {
    w = await startWorker({}, { notify: notifier.notify });
  });
  afterAll(() => w?.close());

  it("offline for N minutes: one episode per silence, from the disconnect to the reconnect, notified once", async () => {
    const v = "pa-offline";
    await addVehicle(w.pool, { id: v });
    const rule = await addRule(w.pool, {
      name: "offline 10",
      kind: "offline",
      params: { minutes: 10 },
      scope: { kind: "vehicle", vehicleId: v },
      channelIds: [3],
    });
    await presence(w.pool, v, true, T - 60 * MINUTE);
    await presence(w.pool, v, false, T - 5 * MINUTE);
    expect(await sweep(T)).toEqual([]);
    const [start] = await sweep(T + 6 * MINUTE);
    expect(start).toMatchObject({
      phase: "start",
      kind: "offline",
      vehicleId: v,
      startedAt: new Date(T - 5 * MINUTE).toISOString(),
      endedAt: null,
    });
    // run again, and by two workers at once: nothing more
    expect(await sweep(T + 7 * MINUTE)).toEqual([]);
    expect((await Promise.all([sweep(T + 8 * MINUTE), sweep(T + 8 * MINUTE)])).flat()).toEqual([]);
    expect(await alertsOf(w.pool, v, rule)).toEqual([
      expect.objectContaining({ startedAt: T - 5 * MINUTE, endedAt: null }),
    ]);

    await presence(w.pool, v, true, T + 9 * MINUTE);
    const [end] = await sweep(T + 10 * MINUTE);
    expect(end).toMatchObject({
      phase: "end",
      id: start?.id,
      endedAt: new Date(T + 9 * MINUTE).toISOString(),
    });
    expect(await sweep(T + 11 * MINUTE)).toEqual([]);
    expect(await notified(v, 2)).toEqual([
      ["start", start?.id, [3]],
      ["end", start?.id, [3]],
    ]);

    // a new silence is a new episode
    await presence(w.pool, v, false, T + 12 * MINUTE);
    const [again] = await sweep(T + 23 * MINUTE);
    expect(again).toMatchObject({ phase: "start", startedAt: new Date(T + 12 * MINUTE).toISOString() });
    expect(again?.id).not.toBe(start?.id);
    expect(await alertsOf(w.pool, v, rule)).toHaveLength(2);
  });

  it("no_fix for N minutes: connected without a fix; ends at the next fix, or when the vehicle goes offline", async () => {
    const v = "pa-nofix";
    await addVehicle(w.pool, { id: v });
    const rule = await addRule(w.pool, {
      name: "no fix 5",
      kind: "no_fix",
      params: { minutes: 5 },
      scope: { kind: "vehicle", vehicleId: v },
    });
    const now = Date.now();
    await presence(w.pool, v, true, now - 20 * MINUTE);
    const [start] = await sweep(now);
    expect(start).toMatchObject({
      phase: "start",
      kind: "no_fix",
      startedAt: new Date(now - 20 * MINUTE).toISOString(),
    });
    // a valid fix arrives (received now): the episode ends at its receipt
    const got = fix(v, now - MINUTE, 25, 55);
    await w.send([got]);
    const [end] = await sweep(now + MINUTE);
    expect(end).toMatchObject({
      phase: "end",
      id: start?.id,
      endedAt: new Date(got.receivedAt).toISOString(),
    });
    // silent again after that fix: a second episode, ended by going offline
    const [second] = await sweep(got.receivedAt + 6 * MINUTE);
    expect(second).toMatchObject({ phase: "start", startedAt: new Date(got.receivedAt).toISOString() });
    await presence(w.pool, v, false, got.receivedAt + 7 * MINUTE);
    const [secondEnd] = await sweep(got.receivedAt + 8 * MINUTE);
    expect(secondEnd).toMatchObject({
      phase: "end",
      id: second?.id,
      endedAt: new Date(got.receivedAt + 7 * MINUTE).toISOString(),
    });
    // offline is not "connected without a fix"
    expect(await sweep(got.receivedAt + 60 * MINUTE)).toEqual([]);
    expect(await alertsOf(w.pool, v, rule)).toHaveLength(2);
  });

  it("stores an episode starting in quiet hours without notifying it, and ends the episode of a deleted rule", async () => {
    const v = "pa-quiet";
    await addVehicle(w.pool, { id: v });
    const rule = await addRule(w.pool, {
      name: "offline quiet",
      kind: "offline",
      params: { minutes: 1 },
      scope: { kind: "vehicle", vehicleId: v },
      quietHours: { from: "00:00", to: "23:59" },
      // a channel to notify: what keeps the episode out of the outbox is its quiet hours
      channelIds: [3],
    });
    const now = Date.now();
    await presence(w.pool, v, true, now - 10 * MINUTE);
    // quiet hours from 00:00 to 23:59: the minute before midnight is the only loud one
    const start = Math.floor(now / 86_400_000) * 86_400_000 + 12 * 60 * MINUTE;
    await presence(w.pool, v, false, start);
    const [quiet] = await sweep(start + 2 * MINUTE);
    expect(quiet).toMatchObject({ phase: "start", quiet: true });
    const outbox = await w.pool.query("SELECT 1 FROM alert_outbox WHERE alert_id = $1", [quiet?.id]);
    expect(outbox.rowCount).toBe(0);

    await w.pool.query("DELETE FROM alert_rules WHERE id = $1", [rule]);
    const [end] = await sweep(start + 3 * MINUTE);
    expect(end).toMatchObject({
      phase: "end",
      id: quiet?.id,
      endedAt: new Date(start + 3 * MINUTE).toISOString(),
    });
  });

  it("never touches offline / no_fix episodes when a batch re-derives the vehicle's alerts", async () => {
    const v = "pa-batch";
    await addVehicle(w.pool, { id: v });
    const rule = await addRule(w.pool, {
      name: "offline 1",
      kind: "offline",
      params: { minutes: 1 },
      scope: { kind: "vehicle", vehicleId: v },
    });
    await addRule(w.pool, {
      name: "over 80",
      kind: "speeding",
      params: { limitKmh: 80, minSeconds: 0 },
      scope: { kind: "vehicle", vehicleId: v },
    });
    const now = Date.now();
    await presence(w.pool, v, true, now - 30 * MINUTE);
    await presence(w.pool, v, false, now - 20 * MINUTE);
    const [start] = await sweep(now);
    expect(start).toMatchObject({ phase: "start" });
    // late fixes from before the silence, replayed from the start of the history
    await w.send([
      fix(v, now - 25 * MINUTE, 25, 55, { speed: 90 }),
      fix(v, now - 24 * MINUTE, 25, 55.01, { speed: 50 }),
    ]);
    await w.send([fix(v, now - 26 * MINUTE, 25, 54.99, { speed: 50 })]);
    expect(await alertsOf(w.pool, v, rule)).toEqual([
      expect.objectContaining({ id: start?.id, endedAt: null }),
    ]);
  });
});
