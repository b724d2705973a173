import type { Client } from "aedes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisKeys } from "../../core/redis.ts";
import { startFleet } from "../../simulator/fleet.ts";
import type { SimFix } from "../../simulator/payloads.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";

const TRUCKS = 6;
const RATE = 10;
const DROPS = 3;

describe("simulator reconnect and resend against the real broker", () => {
  let p: TestPlatform;
  const sessions = new Map<string, Client>();

  beforeAll(async () => {
    // PUBACKs wait for a 50 ms batch flush, so trucks have publishes in flight when they are cut off.
    // (Aedes reads a connection's next packet only after the last one called back, and MQTT.js
    // resends its session store one packet per PUBACK: a longer hold would only slow the test.)
    p = await startPlatform({ env: { BATCH_MS: "50", BATCH_SIZE: "50000" } });
    p.broker.aedes.on("clientReady", (client) => sessions.set(client.id, client));
  });
  afterAll(() => p?.close());

  it("reconnects every truck the broker drops and stores every generated fix exactly once", async () => {
    const creds = await p.register("rc", TRUCKS);
    const generated: SimFix[] = [];
    const fleet = startFleet({
      url: p.mqttUrl,
      vehicles: creds,
      seed: "reconnect",
      rate: RATE,
      qos: 1,
      reconnect: { initialMs: 50, maxMs: 400 },
      hooks: { onFix: (f) => generated.push(f) },
    });
    await waitFor(
      async () => fleet.stats().connectedTrucks,
      (n) => n === TRUCKS,
      { what: "all trucks connected" },
    );

    const inflightAtDrop: number[] = [];
    for (let round = 0; round < DROPS; round++) {
      await waitFor(
        async () => fleet.stats(),
        (s) => s.inflight >= 3 && s.connectedTrucks === TRUCKS,
        { what: "publishes in flight on every connection", intervalMs: 10 },
      );
      const before = fleet.stats();
      inflightAtDrop.push(before.inflight);
      creds.forEach((c, i) => {
        // half through the API's path (revoke: the broker closes the session), half by a dead TCP socket
        if (i % 2 === 0) p.broker.revoke(c.id);
        else sessions.get(`${c.id}:sim`)?.conn.destroy();
      });
      await waitFor(
        async () => fleet.stats().connects,
        (n) => n >= before.connects + TRUCKS,
        { what: `reconnects after drop ${round + 1}` },
      );
    }

    // keep publishing a little after the last drop, then stop: stop() waits for every acknowledgement
    const generatedAtLastDrop = fleet.stats().generated;
    await waitFor(
      async () => fleet.stats().generated,
      (n) => n >= generatedAtLastDrop + TRUCKS * RATE,
      { what: "a second of fixes after the last drop" },
    );
    const final = await fleet.stop(30_000);
    const FIXES = generated.length;
    expect(inflightAtDrop.every((n) => n > 0)).toBe(true);
    expect(final.connects).toBeGreaterThanOrEqual(TRUCKS * (DROPS + 1));
    expect(final.generated).toBe(FIXES);
    expect(final.sent).toBe(FIXES);
    // the publishes cut off in flight were acknowledged too: MQTT.js resent them on the new connection
    expect(final.resent).toBeGreaterThan(0);
    expect(final.acked).toBe(FIXES);
    expect(final.authRefused).toBe(0);

    await waitFor(
      () => p.rowCount(),
      (n) => n >= FIXES,
      { what: `${FIXES} rows` },
    );
    const rows = await p.pool.query<{ k: string; message_id: string }>(
      `SELECT vehicle_id || '@' || (extract(epoch FROM recorded_at) * 1000)::bigint AS k, message_id
       FROM vehicle_locations`,
    );
    expect(rows.rows.map((r) => r.k).sort()).toEqual(
      generated.map((f) => `${f.vehicleId}@${f.recordedAt}`).sort(),
    );
    expect(new Set(rows.rows.map((r) => r.message_id)).size).toBe(FIXES);
    // a resent fix the bridge had already queued is a duplicate in the pipeline, and one row in the table
    const accepted = Number(await p.redis.hget(redisKeys.metrics, "bridge_fixes_accepted"));
    expect(accepted).toBeGreaterThanOrEqual(FIXES);
  });
});
