import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addIntegration } from "../../core/vehicles.ts";
import { startFleet } from "../../simulator/fleet.ts";
import type { SimFix } from "../../simulator/payloads.ts";
import type { OutgoingMessage } from "../../simulator/reporter.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";

const TRUCKS = 4;
const FIXES = 4 * 60;

describe("coverage gaps against the real platform", () => {
  let p: TestPlatform;
  let watcher: MqttClient;
  const forwarded: { topic: string; payload: string }[] = [];

  beforeAll(async () => {
    p = await startPlatform();
    // an integration account sees what the broker accepted and passed on, as a dashboard would
    watcher = await p.connect(await addIntegration(p.pool, "gap-watch"));
    watcher.on("message", (topic, payload) => forwarded.push({ topic, payload: payload.toString() }));
    await watcher.subscribeAsync("fleet/+/locations", { qos: 1 });
  });
  afterAll(() => p?.close());

  it("uploads the fixes buffered in a gap later as ONE /locations batch, and stores every fix once", async () => {
    const creds = await p.register("gap", TRUCKS);
    const generated: SimFix[] = [];
    const sent: OutgoingMessage[] = [];
    const fleet = startFleet({
      url: p.mqttUrl,
      vehicles: creds,
      seed: "gaps",
      rate: 10,
      // a gap about every half second of reporting, 0.5-1.5 s long: several per truck in this run
      coverageGaps: { meanEveryS: 0.5, minS: 0.5, maxS: 1.5 },
      duplicates: 0.1,
      maxFixes: FIXES,
      reconnect: { initialMs: 100, maxMs: 1000 },
      hooks: { onFix: (f) => generated.push(f), onMessage: (m) => sent.push(m) },
    });
    await fleet.finished;
    // what gaps still hold when the run ends is flushed by stop(), with no live fix after it
    const sentWhileRunning = sent.length;
    const stats = await fleet.stop(20_000);

    expect(stats.generated).toBe(FIXES);
    expect(stats.sent).toBe(FIXES);
    expect(stats.acked).toBe(FIXES);
    expect(stats.errors).toBe(0);
    const batches = sent.filter((m) => m.kind === "backlog");
    expect(batches.length).toBeGreaterThanOrEqual(TRUCKS);
    expect(batches.every((b) => b.topic.endsWith("/locations") && b.fixes.length >= 2)).toBe(true);

    // every batch reached the broker as one message, after a newer live fix of the same truck
    await waitFor(
      async () => forwarded.length,
      (n) => n >= batches.length,
      { what: "batches forwarded" },
    );
    for (const b of batches) {
      expect(forwarded.filter((f) => f.payload === b.payload)).toHaveLength(1);
      const i = sent.indexOf(b);
      if (i >= sentWhileRunning) continue;
      const live = sent
        .slice(0, i)
        .findLast((m) => m.kind === "live" && m.fixes[0]?.vehicleId === b.fixes[0]?.vehicleId);
      expect(live?.fixes[0]?.recordedAt).toBeGreaterThan(Math.max(...b.fixes.map((f) => f.recordedAt)));
    }

    // all of them in PostgreSQL, each exactly once (duplicates included in what was sent)
    expect(stats.duplicates).toBeGreaterThan(0);
    await waitFor(
      () => p.rowCount(),
      (n) => n >= FIXES,
      { what: `${FIXES} rows` },
    );
    const rows = await p.pool.query<{ k: string }>(
      `SELECT vehicle_id || '@' || (extract(epoch FROM recorded_at) * 1000)::bigint AS k FROM vehicle_locations`,
    );
    const stored = rows.rows.map((r) => r.k).sort();
    const expected = generated.map((f) => `${f.vehicleId}@${f.recordedAt}`).sort();
    expect(new Set(expected).size).toBe(FIXES);
    expect(stored).toEqual(expected);
  });
});
