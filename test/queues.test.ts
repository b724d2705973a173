import type { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Fix } from "../core/fix.ts";
import { type BatchJob, createLocationQueues, type LocationQueues, partitionOf } from "../core/queues.ts";
import type { Redis } from "../core/redis.ts";
import { createTestRedis } from "./support/services.ts";

const fix = (vehicleId: string, t: number): Fix => ({
  vehicleId,
  recordedAt: t,
  lat: 25,
  lng: 55,
  messageId: `${vehicleId}-${t}`,
  receivedAt: t,
});

describe("the partitioned locations-* queues", () => {
  let lease: Awaited<ReturnType<typeof createTestRedis>>;
  let conn: Redis;
  let queues: LocationQueues;

  beforeAll(async () => {
    lease = await createTestRedis();
    conn = lease.connect();
    queues = createLocationQueues(conn, 4);
  });
  afterAll(async () => {
    await queues.close();
    conn.disconnect();
    await lease.release();
  });

  it("spreads vehicles over the partitions and keeps each vehicle on one", () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) {
      const id = `truck-${i}`;
      const p = partitionOf(id, 4);
      expect(partitionOf(id, 4)).toBe(p);
      counts[p] = (counts[p] ?? 0) + 1;
    }
    for (const n of counts) expect(n).toBeGreaterThan(800);
    expect(partitionOf("anything", 1)).toBe(0);
  });

  it("queues a batch as one job per partition it touches, each holding only its vehicles, once", async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `v${i}`);
    const job: BatchJob = {
      fixes: ids.flatMap((id, i) => [fix(id, 1000 + i), fix(id, 2000 + i)]),
      rejects: [
        {
          vehicleId: "v3",
          topic: "fleet/v3/location",
          reason: "E_BAD_JSON",
          detail: "x",
          payload: "{",
          receivedAt: 1,
          messageId: "r1",
        },
      ],
      sealedAt: 5,
    };
    await queues.add("batch-1", job);
    await queues.add("batch-1", job); // a retried add (same ids) queues nothing more

    const jobs = (
      await Promise.all(queues.queues.map((q: Queue<BatchJob>) => q.getJobs(["waiting"])))
    ).flat();
    expect(jobs).toHaveLength(4);
    expect(jobs.reduce((n, j) => n + j.data.fixes.length, 0)).toBe(80);
    for (const j of jobs) {
      const p = Number(j.queueName.split("-")[1]);
      expect(j.id).toBe(`batch-1-${p}`);
      expect(j.data.sealedAt).toBe(5);
      for (const f of j.data.fixes) expect(partitionOf(f.vehicleId, 4)).toBe(p);
      // a vehicle's fixes stay together and in their order
      const v0 = j.data.fixes.filter((f) => f.vehicleId === j.data.fixes[0]?.vehicleId);
      expect(v0.map((f) => f.recordedAt)).toEqual([...v0.map((f) => f.recordedAt)].sort((a, b) => a - b));
    }
    const withReject = await queues.getJob(queues.jobIdOf("batch-1", "v3"));
    expect(withReject?.data.rejects.map((r) => r.messageId)).toEqual(["r1"]);
    expect(withReject?.data.fixes.some((f) => f.vehicleId === "v3")).toBe(true);
    expect((await queues.getJobCounts("waiting")).waiting).toBe(4);
    expect(await queues.getWaitingCount()).toBe(4);
  });
});
