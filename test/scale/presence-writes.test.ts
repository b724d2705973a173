import { EventEmitter } from "node:events";
import type { Aedes, Client } from "aedes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setIdentity } from "../../broker/identity.ts";
import { presenceKeys, trackPresence } from "../../broker/presence.ts";
import { createLogger } from "../../core/logger.ts";
import { createRedis, type Redis } from "../../core/redis.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";

// broker/presence.ts against a real Redis, driven by the two Aedes events it listens to (an
// EventEmitter standing in for Aedes: a reconnect storm's events, each in a turn of its own).

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
    server = await startRedis();
    redis = createRedis(server.url);
    probe = createRedis(server.url);
  });
  afterAll(async () => {
    await redis?.quit();
    await probe?.quit();
    await server?.cleanup();
  });

  it("records a storm of sessions opened and closed, in order, a few pipelines by script hash", async () => {
    const aedes = Object.assign(new EventEmitter(), { id: "node-t" }) as unknown as Aedes;
    const tracker = trackPresence({ aedes, redis, graceMs: 5000, log: createLogger("test", "silent") });
    const evalBefore = await calls(probe, "eval");
    const shaBefore = await calls(probe, "evalsha");
    let pipelines = 0;
    const pipeline = redis.pipeline.bind(redis);
    redis.pipeline = ((...a: Parameters<Redis["pipeline"]>) => {
      pipelines++;
      return pipeline(...a);
    }) as Redis["pipeline"];
    const clients = Array.from({ length: 300 }, (_, i) => {
      const c = { id: `pw-${i}` } as unknown as Client;
      setIdentity(c, { kind: "device", vehicleId: `pw-${i}`, imei: null });
      return c;
    });
    // each event in a turn of the event loop of its own, as Aedes registers clients, a millisecond
    // or more apart, as a storm's CONNECTs arrive (longer than a round trip to Redis): every device
    // connects; the first hundred close again, and the first ten open a second session: online
    // with it, not ended
    const turn = () => new Promise((r) => setTimeout(r, 1));
    const started = performance.now();
    for (const c of clients) {
      aedes.emit("client", c);
      await turn();
    }
    for (const c of clients.slice(0, 100)) {
      aedes.emit("clientDisconnect", c);
      await turn();
    }
    for (const c of clients.slice(0, 10)) aedes.emit("client", c);
    const elapsedMs = performance.now() - started;
    await tracker.flush();
    redis.pipeline = pipeline;

    expect(await probe.hlen(presenceKeys.sessions("pw-0"))).toBe(1);
    expect(await probe.hexists(presenceKeys.ended, "pw-0")).toBe(0);
    expect(await probe.hlen(presenceKeys.sessions("pw-50"))).toBe(0);
    expect(await probe.hexists(presenceKeys.ended, "pw-50")).toBe(1);
    expect(await probe.hlen(presenceKeys.sessions("pw-299"))).toBe(1);
    expect(await probe.scard(presenceKeys.node("node-t"))).toBe(300);
    // 410 writes over 400 ms or more, in pipelines of 10 ms (one per 10 ms of it, and the last),
    // not one per turn or per round trip; each sends a script's text once, its other writes by hash
    expect(pipelines).toBeGreaterThan(0);
    expect(pipelines).toBeLessThanOrEqual(Math.ceil(elapsedMs / 10) + 2);
    const evals = (await calls(probe, "eval")) - evalBefore;
    expect(evals).toBeLessThanOrEqual(2 * pipelines);
    expect((await calls(probe, "evalsha")) - shaBefore + evals).toBe(410);
  });

  it("lands writes in flight when Redis crashes once it is back, in order", async () => {
    const aedes = Object.assign(new EventEmitter(), { id: "node-r" }) as unknown as Aedes;
    const tracker = trackPresence({ aedes, redis, graceMs: 5000, log: createLogger("test", "silent") });
    const c = { id: "pr-1" } as unknown as Client;
    setIdentity(c, { kind: "device", vehicleId: "pr-1", imei: null });
    // the pipeline is written to a Redis that has stopped reading, which then crashes (its AOF
    // keeps what it ran before) and comes back: both writes land, the end after the connect.
    // (ioredis resends a pipeline nothing of which was answered; one answered in part is what
    // presence.ts sends again itself, which a test cannot time)
    server.pause();
    aedes.emit("client", c);
    aedes.emit("clientDisconnect", c);
    await new Promise((r) => setTimeout(r, 100));
    await server.kill();
    await server.start();
    await tracker.flush();
    expect(await probe.hlen(presenceKeys.sessions("pr-1"))).toBe(0);
    expect(await probe.hexists(presenceKeys.ended, "pr-1")).toBe(1);
  });
});
