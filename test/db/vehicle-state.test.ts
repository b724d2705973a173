import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addVehicle, getVehicle } from "../../core/vehicles.ts";
import { fix, MINUTE, startWorker, type WorkerHarness } from "./harness.ts";

describe("fast-moving state lives outside the versioned vehicles row", () => {
  let w: WorkerHarness;
  beforeAll(async () => {
    w = await startWorker();
  });
  afterAll(() => w?.close());

  it("keeps last seen and moving/stopped in vehicle_state; the worker never touches vehicles.version", async () => {
    await addVehicle(w.pool, { id: "vs-1", name: "Truck 1" });
    const before = await getVehicle(w.pool, "vs-1");
    const now = Date.now();
    await w.send(
      Array.from({ length: 5 }, (_, i) =>
        fix("vs-1", now - (5 - i) * MINUTE, 25 + i * 0.01, 55, {
          speed: 50,
          ignition: true,
          receivedAt: now,
        }),
      ),
    );
    const state = await w.pool.query(
      "SELECT last_fix_at, last_received_at, moving FROM vehicle_state WHERE vehicle_id = 'vs-1'",
    );
    expect(state.rows[0]).toEqual({
      last_fix_at: new Date(now - MINUTE),
      last_received_at: new Date(now),
      moving: true,
    });
    // the row is untouched; lastSeenAt is read from vehicle_state (core/vehicles.ts), so it moves
    const after = await getVehicle(w.pool, "vs-1");
    expect({ ...after, lastSeenAt: null }).toEqual({ ...before, lastSeenAt: null });
    expect(after?.lastSeenAt).toBe(new Date(now).toISOString());
  });

  it("lets a user's If-Match edit through while a worker batch holds the vehicle's state lock", async () => {
    await addVehicle(w.pool, { id: "vs-2" });
    await w.send([fix("vs-2", Date.now() - MINUTE, 25, 55)]);
    const worker = await w.pool.connect();
    const user = await w.pool.connect();
    try {
      await worker.query("BEGIN");
      await worker.query("SELECT 1 FROM vehicle_state WHERE vehicle_id = 'vs-2' FOR UPDATE");
      // the optimistic-locking update the API's PATCH makes, with a short fuse
      await user.query("SET lock_timeout = '500ms'");
      const r = await user.query(
        "UPDATE vehicles SET name = 'renamed', version = version + 1, updated_at = now() WHERE id = 'vs-2' AND version = 1",
      );
      expect(r.rowCount).toBe(1);
    } finally {
      await worker.query("ROLLBACK");
      worker.release();
      user.release();
    }
    expect((await getVehicle(w.pool, "vs-2"))?.version).toBe(2);
  });
});
