import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AlertMessage } from "../../core/alerts.ts";
import type { Fix } from "../../core/fix.ts";
import { fix, HOUR, startWorker, type WorkerHarness } from "../db/harness.ts";
import { waitFor } from "../support/wait.ts";
import { addRule, alertsOf, recordingNotifier } from "./alert-rules.ts";

const S = 1000;
const T0 = Date.now() - 6 * HOUR;
const RULES = 30;

/**
 * What 100 busy rules cost a batch (issue 16): a rule without channels does not go through the
 * notifier's outbox, and a vehicle over the limits of many speeding rules keeps a small state row.
 */
describe("the cost of alert rules", () => {
  let w: WorkerHarness;
  const notifier = recordingNotifier();

  beforeAll(async () => {
    w = await startWorker({}, { notify: notifier.notify });
  });
  afterAll(() => w?.close());

  /** `RULES` speeding rules for `v` with limits 40 … 69 km/h and a 10-minute minimum */
  const manyRules = async (v: string) => {
    const ids: number[] = [];
    for (let i = 0; i < RULES; i++)
      ids.push(
        await addRule(w.pool, {
          name: `over ${40 + i}`,
          kind: "speeding",
          params: { limitKmh: 40 + i, minSeconds: 600 },
          scope: { kind: "vehicle", vehicleId: v },
        }),
      );
    return ids;
  };
  /** a fix a minute, 100-112 km/h from minute 1 to 12, then 30 km/h at minute 13 */
  const drive = (v: string): Fix[] =>
    Array.from({ length: 14 }, (_, i) =>
      fix(v, T0 + i * 60 * S, 25, 55 + i * 0.01, {
        speed: i === 0 || i === 13 ? 30 : 100 + i,
        ignition: true,
      }),
    );
  const machineOf = async (v: string) =>
    (
      await w.pool.query<{ bytes: number; runs: number }>(
        `SELECT length(machine::text) AS bytes,
                (SELECT sum(cardinality(string_to_array(g, ',')) - 4)::int
                 FROM jsonb_array_elements_text(machine->'alerts'->'p') AS e(g)) AS runs
         FROM vehicle_state WHERE vehicle_id = $1`,
        [v],
      )
    ).rows[0];
  const episodesOf = async (v: string, rules: number[]) =>
    (await Promise.all(rules.map((r) => alertsOf(w.pool, v, r)))).map((rows) =>
      rows.map((a) => [a.startedAt, a.endedAt, a.peak]),
    );
  const oneEach = (n: number) =>
    Array.from({ length: n }, () => [[T0 + 60 * S, T0 + 13 * 60 * S, { speedKmh: 112 }]]);

  it("stores and streams the alerts of a rule without channels, but does not hand them to the notifier", async () => {
    const v = "rc-channels";
    const at = (s: number, speed: number) => fix(v, T0 + s * S, 25.1, 55 + s / 1e5, { speed });
    const silent = await addRule(w.pool, {
      name: "no channel",
      kind: "speeding",
      params: { limitKmh: 80, minSeconds: 0 },
      scope: { kind: "vehicle", vehicleId: v },
    });
    const loud = await addRule(w.pool, {
      name: "with a channel",
      kind: "speeding",
      params: { limitKmh: 80, minSeconds: 0 },
      scope: { kind: "vehicle", vehicleId: v },
      channelIds: [5],
    });
    await w.send([at(0, 50), at(10, 100), at(20, 50)]);
    expect(await alertsOf(w.pool, v, silent)).toHaveLength(1);
    const streamed = await waitFor(
      async () => (w.published as AlertMessage[]).filter((m) => m.type === "alert" && m.vehicleId === v),
      (m) => m.length >= 4,
      { timeoutMs: 5000, what: "4 alert messages" },
    );
    expect(streamed.filter((m) => m.ruleId === silent).map((m) => m.phase)).toEqual(["start", "end"]);
    // the outbox is drained in order, in one hand-over here: the phases of the rule with a channel
    // arriving means those of the other would have been there too
    const notified = await waitFor(
      async () => notifier.of(v),
      (n) => n.length >= 2,
      { timeoutMs: 15_000, what: "2 notified phases" },
    );
    expect(notified.map((n) => [n.alert.ruleId, n.alert.phase, n.channelIds])).toEqual([
      [loud, "start", [5]],
      [loud, "end", [5]],
    ]);
  });

  it("keeps a vehicle's state under 2 kB with 30 speeding runs in progress, and their episodes exact", async () => {
    const v = "rc-runs";
    const rules = await manyRules(v);
    const fixes = drive(v);
    for (const f of fixes.slice(0, 6)) await w.send([f]);
    // every run in progress, under PostgreSQL's TOAST threshold: no compression per batch
    expect(await machineOf(v)).toEqual({ bytes: expect.any(Number), runs: RULES });
    expect((await machineOf(v))?.bytes).toBeLessThan(2000);
    for (const f of fixes.slice(6)) await w.send([f]);
    expect(await episodesOf(v, rules)).toEqual(oneEach(RULES));
  });

  it("continues runs saved one object per rule, as states written before packing", async () => {
    const v = "rc-old-state";
    const rules = await manyRules(v);
    const fixes = drive(v);
    for (const f of fixes.slice(0, 6)) await w.send([f]);
    await w.pool.query(
      `UPDATE vehicle_state SET machine = jsonb_set(machine, '{alerts}', (
         SELECT jsonb_object_agg(g[i], jsonb_build_object(
                  'start', jsonb_build_object('t', g[1]::float8, 'lat', g[2]::float8, 'lng', g[3]::float8),
                  'last', machine->'lastAt', 'confirmedAt', null, 'peak', g[4]::float8))
         FROM jsonb_array_elements_text(machine->'alerts'->'p') AS e(packed),
              string_to_array(packed, ',') AS g,
              generate_series(5, cardinality(g)) AS i))
       WHERE vehicle_id = $1`,
      [v],
    );
    expect(
      (await w.pool.query("SELECT machine->'alerts' AS a FROM vehicle_state WHERE vehicle_id = $1", [v]))
        .rows[0]?.a[String(rules[0])],
    ).toMatchObject({ start: { t: T0 + 60 * S }, confirmedAt: null });
    for (const f of fixes.slice(6)) await w.send([f]);
    expect(await episodesOf(v, rules)).toEqual(oneEach(RULES));
  });
});
