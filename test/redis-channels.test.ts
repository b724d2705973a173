import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlMessage, controlChannel, publishControl, subscribeControl } from "../core/control.ts";
import { createLogger } from "../core/logger.ts";
import { channelOf, type Redis } from "../core/redis.ts";
import { createTestRedis } from "./support/services.ts";
import { waitFor } from "./support/wait.ts";

/**
 * Redis delivers a PUBLISH to subscribers on every logical database. Two deployments sharing one
 * Redis server on databases of their own must still not hear each other's control messages
 * (downlink commands, revocations) or live positions.
 */
describe("pub/sub channels of two deployments on one Redis server", () => {
  const conns: Redis[] = [];
  const leases: Awaited<ReturnType<typeof createTestRedis>>[] = [];
  const log = createLogger("test");

  beforeAll(async () => {
    leases.push(await createTestRedis(), await createTestRedis());
  });
  afterAll(async () => {
    for (const c of conns) c.disconnect();
    for (const l of leases) await l.release();
  });
  const connect = (i: number) => {
    const c = (leases[i] as (typeof leases)[number]).connect();
    conns.push(c);
    return c;
  };

  it("names each channel after its database", () => {
    const [a, b] = [connect(0), connect(1)];
    expect(channelOf(a, controlChannel)).toBe(`lt:control:db${a.options.db}`);
    expect(channelOf(a, controlChannel)).not.toBe(channelOf(b, controlChannel));
  });

  it("delivers a control message to the brokers of its own database only", async () => {
    const heard: { a: string[]; b: string[] } = { a: [], b: [] };
    const idOf = (m: ControlMessage) => ("vehicleId" in m ? m.vehicleId : m.name);
    await subscribeControl(connect(0), log, (m) => heard.a.push(idOf(m)));
    await subscribeControl(connect(1), log, (m) => heard.b.push(idOf(m)));

    expect(await publishControl(connect(0), { type: "revoke", vehicleId: "truck-a" })).toBe(1);
    expect(await publishControl(connect(1), { type: "revoke", vehicleId: "truck-b" })).toBe(1);
    // then a later message on each database: Redis writes a PUBLISH to its subscribers as it runs
    // it, so once each broker has its own later one, it would have had the other's earlier one
    expect(await publishControl(connect(0), { type: "revoke", vehicleId: "later-a" })).toBe(1);
    expect(await publishControl(connect(1), { type: "revoke", vehicleId: "later-b" })).toBe(1);
    await waitFor(
      async () => heard,
      (h) => h.a.includes("later-a") && h.b.includes("later-b"),
      { what: "the later message on each database" },
    );
    expect(heard).toEqual({ a: ["truck-a", "later-a"], b: ["truck-b", "later-b"] });
  });
});
