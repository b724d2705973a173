import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AlertMessage } from "../../core/alerts.ts";
import type { Fix } from "../../core/fix.ts";
import { fix, HOUR, MINUTE, startWorker, type WorkerHarness } from "../db/harness.ts";
import { waitFor } from "../support/wait.ts";
import { addRule, alertsOf, recordingNotifier } from "./alert-rules.ts";

const S = 1000;
const T0 = Date.now() - 6 * HOUR;

/** Every 5 s from T0: 50 km/h, then over 80 from i = 6 to 17 (120 at i = 10), then 50 again. */
const speedOf = (i: number) => (i >= 6 && i <= 17 ? (i === 10 ? 120 : 95) : 50);
const drive = (vehicleId: string, n = 30, t0 = T0, speed: (i: number) => number = speedOf): Fix[] =>
  Array.from({ length: n }, (_, i) =>
    fix(vehicleId, t0 + i * 5 * S, 25, 55 + i * 0.001, { speed: speed(i), ignition: true }),
  );

describe("alert episodes in event time", () => {
  let w: WorkerHarness;
  const notifier = recordingNotifier();
  let speeding: number;

  /** this vehicle's alert messages on the events channel, once there are `n` */
  const published = (vehicleId: string, n: number) =>
    waitFor(
      async () =>
        (w.published as AlertMessage[]).filter((m) => m.type === "alert" && m.vehicleId === vehicleId),
      (msgs) => msgs.length >= n,
      { timeoutMs: 5000, what: `${n} alert messages of ${vehicleId}` },
    );
  const notified = (vehicleId: string, n: number) =>
    waitFor(
      async () => notifier.of(vehicleId).map((i) => [i.alert.phase, i.alert.id]),
      (items) => items.length >= n,
      { timeoutMs: 15_000, what: `${n} notified phases of ${vehicleId}` },
    );

  beforeAll(async () => {
    w = await startWorker({}, { notify: notifier.notify });
    speeding = await addRule(w.pool, {
      name: "over 80",
      kind: "speeding",
      params: { limitKmh: 80, minSeconds: 10 },
      scope: { kind: "vehicle", vehicleId: "al-speed-rev" },
      channelIds: [7],
    });
  });
  afterAll(() => w?.close());

  it("one batch in reverse order, then the same job again, gives one alert with its start, end and peak, announced once", async () => {
    const fixes = drive("al-speed-rev").reverse();
    await w.send(fixes);
    await w.send(fixes);
    const rows = await alertsOf(w.pool, "al-speed-rev", speeding);
    expect(rows).toEqual([
      {
        id: rows[0]?.id,
        startedAt: T0 + 30 * S,
        endedAt: T0 + 90 * S,
        peak: { speedKmh: 120 },
        quiet: false,
      },
    ]);
    const msgs = await published("al-speed-rev", 2);
    expect(msgs.map((m) => [m.phase, m.id, m.startedAt, m.endedAt, m.ruleName])).toEqual([
      [
        "start",
        rows[0]?.id,
        new Date(T0 + 30 * S).toISOString(),
        new Date(T0 + 90 * S).toISOString(),
        "over 80",
      ],
      [
        "end",
        rows[0]?.id,
        new Date(T0 + 30 * S).toISOString(),
        new Date(T0 + 90 * S).toISOString(),
        "over 80",
      ],
    ]);
    expect(await notified("al-speed-rev", 2)).toEqual([
      ["start", rows[0]?.id],
      ["end", rows[0]?.id],
    ]);
    expect(notifier.of("al-speed-rev").map((i) => i.channelIds)).toEqual([[7], [7]]);
  });

  it("fixes one batch at a time in order give the same episode: start announced while open, then the end", async () => {
    const rule = await addRule(w.pool, {
      name: "over 80 (in order)",
      kind: "speeding",
      params: { limitKmh: 80, minSeconds: 10 },
      scope: { kind: "vehicle", vehicleId: "al-speed-ord" },
      channelIds: [7],
    });
    const fixes = drive("al-speed-ord");
    for (const f of fixes.slice(0, 12)) await w.send([f]);
    const open = await alertsOf(w.pool, "al-speed-ord", rule);
    expect(open).toMatchObject([{ startedAt: T0 + 30 * S, endedAt: null, peak: { speedKmh: 120 } }]);
    for (const f of fixes.slice(12)) await w.send([f]);
    const rows = await alertsOf(w.pool, "al-speed-ord", rule);
    expect(rows).toEqual([{ ...open[0], endedAt: T0 + 90 * S }]);
    const msgs = await published("al-speed-ord", 2);
    expect(msgs.map((m) => [m.phase, m.endedAt, m.late])).toEqual([
      ["start", null, false],
      ["end", new Date(T0 + 90 * S).toISOString(), false],
    ]);
    expect(await notified("al-speed-ord", 2)).toHaveLength(2);
  });

  it("keeps a peak to one decimal, in the row and in the messages (no float noise like 88.9000015258789)", async () => {
    const rule = await addRule(w.pool, {
      name: "over 80 (peak)",
      kind: "speeding",
      params: { limitKmh: 80, minSeconds: 10 },
      scope: { kind: "vehicle", vehicleId: "al-speed-peak" },
    });
    await w.send(drive("al-speed-peak", 30, T0, (i) => (i === 10 ? 88.9123 : speedOf(i))));
    const rows = await alertsOf(w.pool, "al-speed-peak", rule);
    expect(rows).toMatchObject([{ peak: { speedKmh: 95 } }]);
    const fine = await addRule(w.pool, {
      name: "over 80 (fine peak)",
      kind: "speeding",
      params: { limitKmh: 80, minSeconds: 10 },
      scope: { kind: "vehicle", vehicleId: "al-speed-fine" },
    });
    await w.send(drive("al-speed-fine", 30, T0, (i) => (i >= 6 && i <= 17 ? 88.9123 : 50)));
    expect(await alertsOf(w.pool, "al-speed-fine", fine)).toMatchObject([{ peak: { speedKmh: 88.9 } }]);
    const msgs = await published("al-speed-fine", 2);
    expect(msgs.map((m) => m.peak)).toEqual([{ speedKmh: 88.9 }, { speedKmh: 88.9 }]);
  });

  it("a notifier that fails gets the alerts again (outbox), and a worker retry of a committed job adds nothing", async () => {
    const rule = await addRule(w.pool, {
      name: "over 80 (notifier down)",
      kind: "speeding",
      params: { limitKmh: 80, minSeconds: 10 },
      scope: { kind: "vehicle", vehicleId: "al-speed-fail" },
      channelIds: [7],
    });
    notifier.state.failNext = 1;
    const fixes = drive("al-speed-fail");
    await w.send(fixes);
    const rows = await alertsOf(w.pool, "al-speed-fail", rule);
    expect(rows).toHaveLength(1);
    // retried by the sweep, every 5 s
    expect(await notified("al-speed-fail", 2)).toEqual([
      ["start", rows[0]?.id],
      ["end", rows[0]?.id],
    ]);
    // deleted in the transaction that saw the notifier accept them (just after it returned)
    await waitFor(
      async () => (await w.pool.query("SELECT 1 FROM alert_outbox")).rowCount,
      (n) => n === 0,
      { timeoutMs: 5000, what: "an empty outbox" },
    );
    await w.send(fixes);
    expect(await alertsOf(w.pool, "al-speed-fail", rule)).toEqual(rows);
    expect(notifier.of("al-speed-fail")).toHaveLength(2);
  });

  it("a late upload that splits an episode keeps the first (its end moved) and adds the second, like a geofence replay", async () => {
    const v = "al-split";
    const rule = await addRule(w.pool, {
      name: "split",
      kind: "speeding",
      params: { limitKmh: 80, minSeconds: 10 },
      scope: { kind: "vehicle", vehicleId: v },
    });
    // every 10 s over the limit from 0 to 120 s, then under; the fix at 60 s is held back
    const speed = (i: number) => (i <= 12 ? 100 + i : 40);
    const all = Array.from({ length: 16 }, (_, i) =>
      fix(v, T0 + i * 10 * S, 25.1, 55 + i * 0.001, { speed: speed(i) }),
    );
    const lateFix = { ...(all[6] as Fix), speed: 30 };
    await w.send(all.filter((_, i) => i !== 6));
    const before = await alertsOf(w.pool, v, rule);
    expect(before).toMatchObject([{ startedAt: T0, endedAt: T0 + 130 * S, peak: { speedKmh: 112 } }]);
    await w.send([lateFix]);
    const after = await alertsOf(w.pool, v, rule);
    expect(after).toEqual([
      { id: before[0]?.id, startedAt: T0, endedAt: T0 + 60 * S, peak: { speedKmh: 105 }, quiet: false },
      {
        id: after[1]?.id,
        startedAt: T0 + 70 * S,
        endedAt: T0 + 130 * S,
        peak: { speedKmh: 112 },
        quiet: false,
      },
    ]);
    const msgs = await published(v, 4);
    expect(msgs.map((m) => [m.phase, m.id, m.late])).toEqual([
      ["start", before[0]?.id, false],
      ["end", before[0]?.id, false],
      ["start", after[1]?.id, true],
      ["end", after[1]?.id, true],
    ]);
  });

  it("a late upload that fills a silence extends the episode; one that moves its start keeps its id", async () => {
    const v = "al-extend";
    const rule = await addRule(w.pool, {
      name: "extend",
      kind: "speeding",
      params: { limitKmh: 80, minSeconds: 10 },
      scope: { kind: "vehicle", vehicleId: v },
    });
    const at = (t: number, speed: number) => fix(v, T0 + t, 25.2, 55 + t / 1e8, { speed });
    // over from 1 min to 2 min, silence (over TRIP_GAP_SECONDS), then under at 30 min
    await w.send([
      at(0, 50),
      ...[60, 70, 80, 90, 100, 110, 120].map((s) => at(s * S, 100)),
      at(30 * MINUTE, 50),
    ]);
    const first = await alertsOf(w.pool, v, rule);
    expect(first).toMatchObject([{ startedAt: T0 + 60 * S, endedAt: T0 + 120 * S }]);
    // the fixes of the silence arrive: still over the limit, 130 km/h at 10 min
    await w.send(Array.from({ length: 28 }, (_, i) => at((i + 3) * MINUTE, i === 7 ? 130 : 100)));
    // and one more over the limit before the start
    await w.send([at(30 * S, 90)]);
    const rows = await alertsOf(w.pool, v, rule);
    expect(rows).toEqual([
      {
        id: first[0]?.id,
        startedAt: T0 + 30 * S,
        endedAt: T0 + 30 * MINUTE,
        peak: { speedKmh: 130 },
        quiet: false,
      },
    ]);
    const msgs = await published(v, 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(msgs.map((m) => m.phase)).toEqual(["start", "end"]);
  });

  it("a late fix that shortens a run below minSeconds retracts its episode", async () => {
    const v = "al-retract";
    const rule = await addRule(w.pool, {
      name: "retract",
      kind: "speeding",
      params: { limitKmh: 80, minSeconds: 30 },
      scope: { kind: "vehicle", vehicleId: v },
    });
    const at = (s: number, speed: number) => fix(v, T0 + s * S, 25.3, 55 + s / 1e5, { speed });
    await w.send([at(0, 50), at(10, 100), at(20, 100), at(40, 100), at(50, 100), at(60, 50)]);
    const before = await alertsOf(w.pool, v, rule);
    expect(before).toMatchObject([{ startedAt: T0 + 10 * S, endedAt: T0 + 60 * S }]);
    await w.send([at(30, 40)]);
    expect(await alertsOf(w.pool, v, rule)).toEqual([]);
    const msgs = await published(v, 3);
    expect(msgs.map((m) => [m.phase, m.id])).toEqual([
      ["start", before[0]?.id],
      ["end", before[0]?.id],
      ["retracted", before[0]?.id],
    ]);
  });
});
