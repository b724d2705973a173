import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isBrokerHeartbeat, readHeartbeats } from "../../core/heartbeat.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { waitFor } from "../support/wait.ts";
import { type ApiHarness, startApi } from "./harness.ts";

// This file stops its own Redis: its tests run serially (vitest runs a file's tests in order).
describe("/health against a Redis of this test's own", () => {
  let redis: RedisServer;
  let p: TestPlatform;
  let h: ApiHarness;
  const health = async () => {
    // the checks are for admins; anyone gets the status (test/security/review/finding-14-…)
    const res = await h.app.inject({ url: "/health", headers: h.bearer(h.adminToken) });
    return { code: res.statusCode, body: res.json() };
  };

  beforeAll(async () => {
    redis = await startRedis({ appendonly: false });
    // a broker in this process beats its heartbeat into that Redis every 5 s
    p = await startPlatform({ redisUrl: redis.url, worker: false });
    h = await startApi({ platform: p });
  });
  afterAll(async () => {
    await redis?.start(); // closing BullMQ connections needs it up
    await h?.close();
    await p?.close();
    await redis?.cleanup();
  });

  it("is 200 with PostgreSQL, Redis, a broker heartbeat and the queue up, the status without credentials", async () => {
    const { code, body } = await waitFor(health, (r) => r.code === 200, { what: "health 200" });
    const anonymous = await h.app.inject({ url: "/health" });
    expect(anonymous.statusCode).toBe(200);
    expect(anonymous.json()).toEqual({ status: "ok" });
    expect(code).toBe(200);
    expect(body.status).toBe("ok");
    expect(body.checks.postgres.ok).toBe(true);
    expect(body.checks.redis.ok).toBe(true);
    expect(body.checks.broker).toEqual({ ok: true, detail: "1 node(s)" });
    expect(body.checks.queue.detail).toMatchObject({ waiting: 0, backpressure: false });
  });

  it("reads the broker's beat: event-loop delay (soak, bench probe) and ingest admission state", async () => {
    const beats = await readHeartbeats(p.redis);
    expect(beats).toHaveLength(1);
    const [beat] = beats.filter(isBrokerHeartbeat);
    expect(Object.keys(beat ?? {}).sort()).toEqual(
      [
        "at",
        "clients",
        "held",
        "loopDelayMaxMs",
        "loopDelayP99Ms",
        "pendingAuth",
        "rateDelayed",
        "shedding",
        "waiting",
      ].sort(),
    );
    expect(beat?.loopDelayP99Ms).toBeTypeOf("number");
    expect(beat?.shedding).toBe(false);
  });

  it("turns 503 when Redis is stopped", async () => {
    await redis.stop();
    const r = await waitFor(health, (x) => x.code === 503, { what: "health 503" });
    expect(r.body.status).toBe("degraded");
    expect(r.body.checks.redis.ok).toBe(false);
    expect(r.body.checks.postgres.ok).toBe(true);
  });

  it("is 200 again once Redis is back (and the broker has beaten again)", async () => {
    await redis.start();
    const r = await waitFor(health, (x) => x.code === 200, { what: "health 200 again" });
    expect(r.body.checks.redis.ok).toBe(true);
    expect(r.body.checks.broker.ok).toBe(true);
  });

  it("reports a missing broker heartbeat as down (503)", async () => {
    await p.broker.close();
    const r = await waitFor(health, (x) => x.code === 503, { what: "no broker" });
    expect(r.body.checks.broker).toEqual({ ok: false, detail: "no broker heartbeat" });
    expect(r.body.checks.redis.ok).toBe(true);
  });
});
