import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisKeys } from "../../core/redis.ts";
import { CONFLICTING } from "../../worker/derive/anomalies.ts";
import { fix, MINUTE, startWorker, type WorkerHarness } from "./harness.ts";

describe("late, duplicate and clock-skewed fixes", () => {
  let w: WorkerHarness;
  const anomalies = async (vehicleId: string) =>
    (
      await w.pool.query<{ kind: string; t: number; detail: string }>(
        `SELECT kind, (extract(epoch FROM recorded_at) * 1000)::float8 AS t, detail
         FROM location_anomalies WHERE vehicle_id = $1 ORDER BY id`,
        [vehicleId],
      )
    ).rows;
  const counter = async (field: string) => Number((await w.redis.hget(redisKeys.metrics, field)) ?? 0);

  beforeAll(async () => {
    w = await startWorker({ SKEW_ANOMALY_S: "600" });
  });
  afterAll(() => w?.close());

  it("records a fix older than the vehicle's newest stored one as late, and counts it", async () => {
    const now = Date.now();
    await w.send([fix("an-late", now - 2 * MINUTE, 25, 55, { receivedAt: now })]);
    await w.send([fix("an-late", now - 5 * MINUTE, 25, 55, { receivedAt: now + 1 })]);
    expect(await anomalies("an-late")).toEqual([
      {
        kind: "late",
        t: now - 5 * MINUTE,
        detail: expect.stringMatching(/^180 s older than the newest fix/),
      },
    ]);
    expect(await counter("worker_anomalies:late")).toBe(1);
  });

  it("records fixes out of order inside one batch as late too (arrival order is batch order)", async () => {
    const now = Date.now();
    await w.send([
      fix("an-batch", now - 1 * MINUTE, 25, 55, { receivedAt: now }),
      fix("an-batch", now - 3 * MINUTE, 25, 55, { receivedAt: now }),
      fix("an-batch", now - 2 * MINUTE, 25, 55, { receivedAt: now }),
    ]);
    expect((await anomalies("an-batch")).map((a) => [a.kind, a.t])).toEqual([
      ["late", now - 3 * MINUTE],
      ["late", now - 2 * MINUTE],
    ]);
  });

  it("records a resent fix as duplicate, but not the same job retried after its commit", async () => {
    const now = Date.now();
    const original = fix("an-dup", now - MINUTE, 25, 55, { receivedAt: now });
    await w.send([original]);
    // BullMQ re-running a job whose COMMIT went through: same receipt, same message id
    const retried = await w.send([original]);
    expect(retried.duplicates).toBe(1);
    expect(await anomalies("an-dup")).toEqual([]);
    // the device resending it (no PUBACK seen): a new receipt
    await w.send([{ ...original, receivedAt: now + 5000, messageId: "resent" }]);
    // and twice in one batch
    const twice = fix("an-dup", now - 30_000, 25, 55, { receivedAt: now });
    await w.send([twice, { ...twice }]);
    expect(await anomalies("an-dup")).toEqual([
      {
        kind: "duplicate",
        t: now - MINUTE,
        detail: `already stored (received ${new Date(now).toISOString()})`,
      },
      { kind: "duplicate", t: now - 30_000, detail: "sent twice in the same batch" },
    ]);
    expect(await counter("worker_anomalies:duplicate")).toBe(2);
  });

  it("labels two records of one time with different content conflicting, not duplicate; the first is kept", async () => {
    const now = Date.now();
    const t = now - 20_000;
    // a Teltonika periodic record and an ignition-off event record in the same second
    const periodic = fix("an-conflict", t, 25.2, 55.2, {
      receivedAt: now,
      ignition: true,
      attributes: { io239: 1 },
    });
    const event = fix("an-conflict", t, 25.3, 55.3, {
      receivedAt: now,
      ignition: false,
      attributes: { io239: 0 },
    });
    await w.send([periodic, event]);
    expect(await anomalies("an-conflict")).toEqual([{ kind: "duplicate", t, detail: CONFLICTING }]);
    const kept = await w.pool.query<{ ignition: boolean }>(
      "SELECT ignition FROM vehicle_locations WHERE vehicle_id = 'an-conflict'",
    );
    expect(kept.rows).toEqual([{ ignition: true }]);
  });

  it("records a fix received long after its time, or dated ahead of its receipt, as skewed", async () => {
    const now = Date.now();
    await w.send([
      fix("an-skew", now - 20 * MINUTE, 25, 55, { receivedAt: now }),
      fix("an-skew", now - 10 * MINUTE + 5000, 25, 55, { receivedAt: now }),
      fix("an-skew", now + 1000, 25, 55, { receivedAt: now }),
      fix("an-skew", now + 60_000, 25, 55, { receivedAt: now }),
    ]);
    expect((await anomalies("an-skew")).map((a) => [a.kind, a.t, a.detail])).toEqual([
      ["skewed", now - 20 * MINUTE, "received 1200 s after recordedAt"],
      ["skewed", now + 60_000, "recordedAt 60 s ahead of its receipt"],
    ]);
    expect(await counter("worker_anomalies:skewed")).toBe(2);
  });
});
