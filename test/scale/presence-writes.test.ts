import { EventEmitter } from "node:events";
import type { Aedes, Client } from "aedes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setIdentity } from "../../broker/identity.ts";
import { presenceKeys, trackPresence } from "../../broker/presence.ts";
import { createLogger } from "../../core/logger.ts";
import { createRedis, type Redis } from "../../core/redis.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";

// broker/presence.ts against a real Redis, driven by the two Aedes events it listens to (an
// EventEmitter standing in for Aedes: a reconnect storm's events, all in one turn of the loop).

const calls = async (redis: Redis, cmd: string) =>
  Number(
    /calls=(\d+)/.exec(
      (await redis.info("commandstats")).split("\n").find((l) => l.startsWith(`cmdstat_${cmd}:`)) ?? "",
    )?.[1] ?? 0,
  );

describe("presence writes", () => {
  let server: RedisServer;
  let redis: Redis;
  let probe: Redis;
  beforeAll(async () => {
    server = await startRedis({ appendonly: false });
    redis = createRedis(server.url);
    probe = createRedis(server.url);
  });
  afterAll(async () => {
    await redis?.quit();
    await probe?.quit();
    await server?.cleanup();
  });

  it("records a storm of sessions opened and closed in one turn, in order, by script hash", async () => {
    const aedes = Object.assign(new EventEmitter(), { id: "node-t" }) as unknown as Aedes;
    const tracker = trackPresence({ aedes, redis, graceMs: 5000, log: createLogger("test", "silent") });
    const evalBefore = await calls(probe, "eval");
    const shaBefore = await calls(probe, "evalsha");
    const clients = Array.from({ length: 300 }, (_, i) => {
      const c = { id: `pw-${i}` } as unknown as Client;
      setIdentity(c, { kind: "device", vehicleId: `pw-${i}`, imei: null });
      return c;
    });
    // every device connects; the first hundred close again before the writes went out, and the
    // first ten open a second session: online with it, not ended
    for (const c of clients) aedes.emit("client", c);
    for (const c of clients.slice(0, 100)) aedes.emit("clientDisconnect", c);
    for (const c of clients.slice(0, 10)) aedes.emit("client", c);
    await tracker.flush();

    expect(await probe.hlen(presenceKeys.sessions("pw-0"))).toBe(1);
    expect(await probe.hexists(presenceKeys.ended, "pw-0")).toBe(0);
    expect(await probe.hlen(presenceKeys.sessions("pw-50"))).toBe(0);
    expect(await probe.hexists(presenceKeys.ended, "pw-50")).toBe(1);
    expect(await probe.hlen(presenceKeys.sessions("pw-299"))).toBe(1);
    expect(await probe.scard(presenceKeys.node("node-t"))).toBe(300);
    // 410 writes; the script's text goes out once per script and connection (ioredis sends the
    // first use as EVAL), every other write by its hash
    const evals = (await calls(probe, "eval")) - evalBefore;
    expect(evals).toBeLessThanOrEqual(2);
    expect((await calls(probe, "evalsha")) - shaBefore + evals).toBe(410);
  });
});
