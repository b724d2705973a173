import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFleet } from "../../simulator/fleet.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";

describe("a truck with stale credentials", () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startPlatform();
  });
  afterAll(() => p?.close());

  it("is refused once and parked, while the rest of the fleet keeps delivering", async () => {
    const [good, stale] = await p.register("stale", 2);
    if (!good || !stale) throw new Error("registration failed");
    const errors: string[] = [];
    const fleet = startFleet({
      url: p.mqttUrl,
      vehicles: [good, { ...stale, password: "not-the-secret" }],
      rate: 10,
      reconnect: { initialMs: 50, maxMs: 200 },
      hooks: { onError: (_id, err) => errors.push(err.message) },
    });
    await waitFor(
      async () => fleet.stats(),
      (s) => s.authRefused === 1 && s.acked >= 20,
      { what: "one refusal and 20 acknowledged fixes" },
    );
    // the marker: the broker drops the good truck, which comes back through the same MQTT.js
    // reconnect timer and backoff; armed seconds after the refusal, it fires after any (wrong)
    // reconnect timer of the refused truck would have
    p.broker.revoke(good.id);
    await waitFor(
      async () => fleet.stats(),
      (s) => s.reconnects >= 1 && s.connectedTrucks === 1,
      { what: "the good truck reconnected" },
    );
    const final = await fleet.stop(10_000);
    expect(final.authRefused).toBe(1);
    // the good truck's, none of the refused one's
    expect(final.reconnects).toBe(1);
    expect(errors).toEqual(["Connection refused: Bad username or password"]);
    await waitFor(
      () => p.rowCount(),
      (n) => n >= final.acked,
      { what: "the acknowledged fixes stored" },
    );
    const rows = await p.pool.query<{ vehicle_id: string; n: number }>(
      "SELECT vehicle_id, count(*)::int AS n FROM vehicle_locations GROUP BY 1",
    );
    expect(rows.rows).toEqual([{ vehicle_id: good.id, n: final.acked }]);
  });
});
