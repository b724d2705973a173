import pino from "pino";
import { describe, expect, it } from "vitest";
import { HoldCap } from "../../../bridge/hold-cap.ts";
import { AddressLimit, addressKey } from "../../../broker/limits/address-limit.ts";
import { HeldLimit } from "../../../broker/limits/held-limit.ts";
import { RateLimiter } from "../../../broker/limits/rate-limit.ts";
import { HoldCapError } from "../../../core/errors.ts";

// The two admission pieces on their own, with a hand-driven clock.
describe("RateLimiter", () => {
  it("lets a burst through, then spaces the rest 1/rate apart in arrival order", () => {
    let now = 0;
    const r = new RateLimiter({ ratePerSecond: 10, burst: 3, maxDelayMs: 10_000, now: () => now });
    const waits = Array.from({ length: 6 }, () => r.reserve("v"));
    expect(waits).toEqual([0, 0, 0, 100, 200, 300]);
    now = 1000; // a second later the debt (3) is paid and 7 tokens saved, capped at the burst
    expect([r.reserve("v"), r.reserve("v"), r.reserve("v"), r.reserve("v")]).toEqual([0, 0, 0, 100]);
    expect(r.reserve("other")).toBe(0);
    r.close();
  });

  it("refuses a reservation that would wait past maxDelayMs, and takes nothing for it", () => {
    let now = 0;
    const r = new RateLimiter({ ratePerSecond: 1, burst: 1, maxDelayMs: 2000, now: () => now });
    // the debt beyond the cap used to be forgiven, so a flood of messages at once exceeded the rate
    expect([r.reserve("v"), r.reserve("v"), r.reserve("v"), r.reserve("v")]).toEqual([
      0,
      1000,
      2000,
      undefined,
    ]);
    now = 3000;
    expect(r.reserve("v")).toBe(0);
    r.close();
  });

  it("charges a message its cost (its fixes): a big one waits in proportion, a too big one is refused", () => {
    let now = 0;
    const r = new RateLimiter({ ratePerSecond: 100, burst: 500, maxDelayMs: 5000, now: () => now });
    expect(r.reserve("v", 500)).toBe(0);
    expect(r.reserve("v", 200)).toBe(2000);
    expect(r.reserve("v", 400)).toBe(undefined);
    expect(r.reserve("v", 300)).toBe(5000);
    now = 5000;
    expect(r.reserve("v", 1)).toBe(10);
    r.close();
  });
});

describe("AddressLimit", () => {
  it("gives each address a bucket of its own, reports the first refusal of a flood once, takes refunds", () => {
    let now = 0;
    const a = new AddressLimit({ ratePerSecond: 2, maxAddresses: 10, now: () => now });
    expect([a.take("x"), a.take("x"), a.take("x"), a.take("x")]).toEqual([
      "ok",
      "ok",
      "first-refusal",
      "refused",
    ]);
    expect(a.take("y")).toBe("ok");
    now = 500; // one token back: the flood goes on, not reported again
    expect([a.take("x"), a.take("x")]).toEqual(["ok", "refused"]);
    a.refund("x");
    expect(a.take("x")).toBe("ok");
    now = 2000; // full again after a quiet second: a new flood is a new report
    expect([a.take("x"), a.take("x"), a.take("x")]).toEqual(["ok", "ok", "first-refusal"]);
  });

  it("remembers at most maxAddresses, forgetting the least recently seen", () => {
    const a = new AddressLimit({ ratePerSecond: 1, maxAddresses: 100, now: () => 0 });
    expect(a.take("flooder")).toBe("ok");
    for (let i = 0; i < 10_000; i++) {
      a.take(`10.0.${i >> 8}.${i & 255}`);
      // the flooder keeps coming back, so it stays remembered, and refused
      if (i % 50 === 0) expect(a.take("flooder")).not.toBe("ok");
    }
    expect(a.size).toBe(100);
  });

  it("takes a burst apart from the rate, and tells whether a token is left without taking it", () => {
    let now = 0;
    // 3 a minute (the OsmAnd refused-key limit's shape): all 3 at once, then one per 20 s
    const a = new AddressLimit({ ratePerSecond: 3 / 60, burst: 3, maxAddresses: 10, now: () => now });
    expect(a.allows("x")).toBe(true);
    expect([a.take("x"), a.take("x"), a.take("x")]).toEqual(["ok", "ok", "ok"]);
    expect([a.allows("x"), a.allows("x"), a.allows("y")]).toEqual([false, false, true]);
    now = 19_000;
    expect(a.allows("x")).toBe(false);
    now = 20_000;
    expect(a.allows("x")).toBe(true);
    expect([a.take("x"), a.take("x")]).toEqual(["ok", "first-refusal"]);
  });

  it("keys IPv4-mapped IPv6 as IPv4 and any other IPv6 address by its /64", () => {
    expect(addressKey("::ffff:127.0.0.2")).toBe("127.0.0.2");
    expect(addressKey("127.0.0.2")).toBe("127.0.0.2");
    expect(addressKey("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:0db8:0001:0002::9%eth0")).toBe("2001:db8:1:2::/64");
    expect(addressKey("1::2:3:4:5:6.7.8.9")).toBe("1:0:2:3::/64");
    expect(addressKey(undefined)).toBe("unknown");
  });
});

describe("HeldLimit", () => {
  const settle = () => new Promise((r) => setImmediate(r));
  const log = pino({ level: "silent" });

  it("grants per connection, then in total, in arrival order", async () => {
    const holdCap = new HoldCap({ ms: 60_000, log });
    const h = new HeldLimit({ perConnection: 2, total: 3, holdCap });
    const a = {};
    const b = {};
    const order: string[] = [];
    const take = (conn: object, name: string) =>
      h.acquire(conn, Date.now()).then((release) => {
        order.push(name);
        return release;
      });
    const a1 = take(a, "a1");
    const a2 = take(a, "a2");
    const a3 = take(a, "a3"); // over a's ceiling
    const b1 = take(b, "b1");
    const b2 = take(b, "b2"); // over the total
    await settle();
    expect(order).toEqual(["a1", "a2", "b1"]);
    expect({ held: h.held, waiting: h.waiting }).toEqual({ held: 3, waiting: 2 });
    (await a1)();
    await settle();
    // a's freed slot goes to a3, but the total is full: b2, waiting longer for it, comes first
    expect(order).toEqual(["a1", "a2", "b1", "b2"]);
    (await b1)();
    await settle();
    expect(order).toEqual(["a1", "a2", "b1", "b2", "a3"]);
    const release = await a2;
    release();
    release(); // idempotent
    expect(h.held).toBe(2);
    for (const p of [a3, b2]) (await p)();
    expect({ held: h.held, waiting: h.waiting }).toEqual({ held: 0, waiting: 0 });
    holdCap.close();
  });

  it("refuses with HoldCapError a message that waited past the hold cap from its receipt", async () => {
    let now = 0;
    const holdCap = new HoldCap({ ms: 100, now: () => now, log });
    const h = new HeldLimit({ perConnection: 1, total: 10, holdCap });
    const c = {};
    const first = await h.acquire(c, 0);
    const waiting = h.acquire(c, 0);
    now = 150;
    await expect(waiting).rejects.toBeInstanceOf(HoldCapError);
    expect(h.waiting).toBe(0);
    first();
    expect(h.held).toBe(0);
    holdCap.close();
  });
});
