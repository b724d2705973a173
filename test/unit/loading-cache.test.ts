import { describe, expect, it } from "vitest";
import { LoadingCache } from "../../core/loading-cache.ts";

/** A lookup the test answers by hand, counting the lookups made. */
function lookups() {
  const calls: { key: string; answer: (v: string | undefined) => void }[] = [];
  const load = (key: string) =>
    new Promise<string | undefined>((resolve) => {
      calls.push({ key, answer: resolve });
    });
  return { calls, load };
}

// The credential cache of the broker (MQTT accounts) and the OsmAnd listener (device keys), with a hand-driven clock.
describe("LoadingCache", () => {
  it("shares one lookup among concurrent requests and keeps its answer for the TTL", async () => {
    let now = 0;
    const l = lookups();
    const c = new LoadingCache<string, string>({ load: l.load, ttlMs: 1000, now: () => now });
    const both = Promise.all([c.get("a"), c.get("a")]);
    expect(l.calls).toHaveLength(1);
    l.calls[0]?.answer("A");
    expect(await both).toEqual(["A", "A"]);
    now = 999;
    expect([await c.get("a"), c.peek("a")]).toEqual(["A", "A"]);
    expect(l.calls).toHaveLength(1);
    now = 1000;
    expect(c.peek("a")).toBeUndefined();
    const again = c.get("a");
    expect(l.calls).toHaveLength(2);
    l.calls[1]?.answer("A2");
    expect(await again).toBe("A2");
  });

  it("remembers a miss for the short negative TTL only", async () => {
    let now = 0;
    const l = lookups();
    const c = new LoadingCache<string, string>({ load: l.load, negativeTtlMs: 50, now: () => now });
    const first = c.get("x");
    l.calls[0]?.answer(undefined);
    expect(await first).toBeUndefined();
    expect(await c.get("x")).toBeUndefined();
    expect(l.calls).toHaveLength(1);
    now = 50;
    const second = c.get("x");
    l.calls[1]?.answer("X");
    expect(await second).toBe("X");
  });

  it("does not keep the answer of a lookup in flight when the key is evicted", async () => {
    const l = lookups();
    const c = new LoadingCache<string, string>({ load: l.load });
    const stale = c.get("a");
    c.evict("a");
    l.calls[0]?.answer("old");
    // the request that asked before the change gets the answer of its time
    expect(await stale).toBe("old");
    expect(c.peek("a")).toBeUndefined();
    const fresh = c.get("a");
    expect(l.calls).toHaveLength(2);
    l.calls[1]?.answer("new");
    expect(await fresh).toBe("new");
    // the same for every lookup in flight, and every miss, when the change names no key
    const inFlight = c.get("b");
    c.evictMisses();
    l.calls[2]?.answer("B");
    await inFlight;
    expect(c.peek("b")).toBeUndefined();
  });

  it("evicts by value, and holds at most maxEntries found and maxEntries missing, oldest out first", async () => {
    const c = new LoadingCache<string, string>({
      load: async (k) => (k.startsWith("v") ? `id-${k}` : undefined),
      maxEntries: 2,
    });
    for (const k of ["v1", "v2", "v3", "u1", "u2", "u3", "u4"]) await c.get(k);
    expect(c.size).toBe(4);
    expect(["v1", "v2", "v3"].map((k) => c.peek(k))).toEqual([undefined, "id-v2", "id-v3"]);
    c.evictWhere((v) => v === "id-v2");
    expect([c.peek("v2"), c.peek("v3"), c.size]).toEqual([undefined, "id-v3", 3]);
  });
});
