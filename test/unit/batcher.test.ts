import { describe, expect, it } from "vitest";
import { Batcher } from "../../bridge/batcher.ts";
import { HoldCapError } from "../../core/errors.ts";
import type { Fix } from "../../core/fix.ts";
import { createLogger } from "../../core/logger.ts";
import type { BatchJob } from "../../core/queues.ts";

const log = createLogger("test", "silent");
const fix = (i: number): Fix => ({
  vehicleId: "v",
  recordedAt: i,
  lat: 0,
  lng: 0,
  messageId: `m${i}`,
  receivedAt: i,
});

describe("Batcher", () => {
  it("flushes BATCH_SIZE fixes as one job and resolves each caller only after the enqueue", async () => {
    const jobs: BatchJob[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const b = new Batcher({
      size: 3,
      ms: 10_000,
      holdCapMs: 60_000,
      log,
      enqueue: async (_id, job) => {
        await gate;
        jobs.push(job);
      },
    });
    let resolved = 0;
    const calls = [0, 1, 2].map((i) => b.add([fix(i)], []).then(() => resolved++));
    await new Promise((r) => setTimeout(r, 20));
    expect(resolved).toBe(0);
    release();
    await Promise.all(calls);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.fixes.map((f) => f.messageId)).toEqual(["m0", "m1", "m2"]);
    await b.close();
  });

  it("flushes a partial batch after BATCH_MS", async () => {
    const jobs: BatchJob[] = [];
    const b = new Batcher({
      size: 100,
      ms: 5,
      holdCapMs: 60_000,
      log,
      enqueue: async (_id, j) => void jobs.push(j),
    });
    await b.add([fix(1)], []);
    expect(jobs).toHaveLength(1);
    await b.close();
  });

  it("retries a failed enqueue with the same batch id while callers stay held", async () => {
    const ids: string[] = [];
    const b = new Batcher({
      size: 1,
      ms: 5,
      holdCapMs: 60_000,
      log,
      enqueue: async (id) => {
        ids.push(id);
        if (ids.length < 3) throw new Error("redis down");
      },
    });
    await b.add([fix(1)], []);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(1);
    await b.close();
  });

  it("releases callers held past the hold cap with HoldCapError and drops them from the batch", async () => {
    let clock = 0;
    let failing = true;
    const delivered: BatchJob[] = [];
    const b = new Batcher({
      size: 1,
      ms: 5,
      holdCapMs: 40,
      log,
      now: () => clock,
      enqueue: async (_id, job) => {
        if (failing) throw new Error("redis down");
        delivered.push(job);
      },
    });
    const held = b.add([fix(1)], []);
    clock = 100; // the fake clock passes the cap; the hold timer runs every holdCap/4 ms
    await expect(held).rejects.toBeInstanceOf(HoldCapError);
    failing = false;
    await b.add([fix(2)], []);
    expect(delivered.flatMap((j) => j.fixes.map((f) => f.messageId))).toEqual(["m2"]);
    await b.close();
  });

  it("merges the batches sealed behind a slow enqueue into one job, in order, up to 4 x BATCH_SIZE", async () => {
    const jobs: { id: string; ids: string[] }[] = [];
    let release: () => void = () => {};
    let gate = new Promise<void>((r) => {
      release = r;
    });
    const b = new Batcher({
      size: 2,
      ms: 10_000,
      holdCapMs: 60_000,
      log,
      enqueue: async (id, job) => {
        await gate;
        jobs.push({ id, ids: job.fixes.map((f) => f.messageId) });
      },
    });
    // the first batch (m0, m1) is in flight and held at the gate; 12 more fixes seal 6 batches
    const calls = Array.from({ length: 14 }, (_, i) => b.add([fix(i)], []));
    await new Promise((r) => setTimeout(r, 10));
    expect(jobs).toHaveLength(0);
    const firstGate = release;
    gate = Promise.resolve();
    firstGate();
    await Promise.all(calls);
    expect(jobs.map((j) => j.ids.length)).toEqual([2, 8, 4]);
    expect(jobs.flatMap((j) => j.ids)).toEqual(Array.from({ length: 14 }, (_, i) => `m${i}`));
    expect(new Set(jobs.map((j) => j.id)).size).toBe(3);
    await b.close();
  });

  it("never adds to a batch whose enqueue was tried: its retry carries the same fixes under the same id", async () => {
    const tries: { id: string; ids: string[] }[] = [];
    let failing = true;
    const b = new Batcher({
      size: 1,
      ms: 5,
      holdCapMs: 60_000,
      log,
      enqueue: async (id, job) => {
        tries.push({ id, ids: job.fixes.map((f) => f.messageId) });
        if (failing) {
          await new Promise((r) => setTimeout(r, 20));
          throw new Error("reply lost");
        }
      },
    });
    const first = b.add([fix(0)], []);
    await new Promise((r) => setTimeout(r, 5));
    const later = [1, 2, 3].map((i) => b.add([fix(i)], []));
    await new Promise((r) => setTimeout(r, 60));
    failing = false;
    await Promise.all([first, ...later]);
    const byId = new Map<string, string[][]>();
    for (const t of tries) byId.set(t.id, [...(byId.get(t.id) ?? []), t.ids]);
    // every try of one id carried the same fixes
    for (const contents of byId.values()) for (const c of contents) expect(c).toEqual(contents[0]);
    expect(byId.get(tries[0]?.id ?? "")?.[0]).toEqual(["m0"]);
    expect([...byId.values()].flatMap((c) => c[0]).sort()).toEqual(["m0", "m1", "m2", "m3"]);
    await b.close();
  });
});
