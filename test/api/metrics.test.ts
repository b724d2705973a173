import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatPipelineMetrics } from "../../api/pipeline-metrics.ts";
import { type BrokerHeartbeat, HEARTBEAT_PREFIX } from "../../core/heartbeat.ts";
import { redisKeys } from "../../core/redis.ts";
import { type ApiHarness, startApi } from "./harness.ts";

describe("/metrics", () => {
  let h: ApiHarness;
  const logged: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        logged.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    h = await startApi({
      env: { QUEUE_ALERT_DEPTH: "2", METRICS_PUBLIC: "true" },
      log: pino({ level: "info" }, sink),
    });
  });
  afterAll(() => h?.close());

  const metrics = async () => (await h.app.inject({ url: "/metrics" })).body;

  it("exports Redis counters as Prometheus counters, rejects with a reason label, zero before the first fix", async () => {
    const empty = await metrics();
    expect(empty).toMatch(/^# TYPE logitrack_bridge_fixes_accepted_total counter$/m);
    expect(empty).toMatch(/^logitrack_bridge_fixes_accepted_total 0$/m);
    await h.redis.hset(redisKeys.metrics, {
      bridge_fixes_accepted: "42",
      "bridge_rejected:E_BAD_JSON": "3",
      "bridge_rejected:E_OUT_OF_RANGE": "1",
      worker_insert_ms_total: "250",
    });
    const m = await metrics();
    expect(m).toMatch(/^logitrack_bridge_fixes_accepted_total 42$/m);
    expect(m).toMatch(/^logitrack_bridge_rejected_total\{reason="E_BAD_JSON"\} 3$/m);
    expect(m).toMatch(/^logitrack_bridge_rejected_total\{reason="E_OUT_OF_RANGE"\} 1$/m);
    expect(m).toMatch(/^logitrack_worker_insert_ms_total 250$/m);
  });

  it("turns <name>_bucket:<le> fields (one bucket per observation) into a cumulative histogram", async () => {
    await h.redis.hset(redisKeys.metrics, {
      "pipeline_latency_ms_bucket:10": "2",
      "pipeline_latency_ms_bucket:100": "5",
      "pipeline_latency_ms_bucket:1000": "1",
      "pipeline_latency_ms_bucket:+Inf": "1",
      pipeline_latency_ms_sum: "2600",
      pipeline_latency_ms_count: "9",
    });
    const m = await metrics();
    expect(m).toContain("# TYPE logitrack_pipeline_latency_ms histogram");
    expect(m).toContain(
      [
        'logitrack_pipeline_latency_ms_bucket{le="10"} 2',
        'logitrack_pipeline_latency_ms_bucket{le="100"} 7',
        'logitrack_pipeline_latency_ms_bucket{le="1000"} 8',
        'logitrack_pipeline_latency_ms_bucket{le="+Inf"} 9',
        "logitrack_pipeline_latency_ms_sum 2600",
        "logitrack_pipeline_latency_ms_count 9",
      ].join("\n"),
    );
    expect(m).not.toContain("logitrack_pipeline_latency_ms_sum_total");
  });

  it("escapes label values and ignores field names Prometheus cannot carry", () => {
    const text = formatPipelineMetrics({ 'bridge_rejected:E_"X"\\': "1", "bad name": "5", "9lives": "1" });
    expect(text).toContain('logitrack_bridge_rejected_total{reason="E_\\"X\\"\\\\"} 1');
    expect(text).not.toMatch(/bad name|9lives/);
  });

  it("raises the backpressure gauge and logs a warning once when the queue passes QUEUE_ALERT_DEPTH", async () => {
    expect(await metrics()).toMatch(/^logitrack_queue_backpressure 0$/m);
    // no worker runs here: three batches of one vehicle wait, one job each
    const t = Date.now();
    const fix = { vehicleId: "bp", lat: 25, lng: 55, messageId: "bp", receivedAt: t };
    for (let i = 0; i < 3; i++)
      await h.queue.add(`bp-${i}`, { fixes: [{ ...fix, recordedAt: t + i }], rejects: [], sealedAt: t });
    const m = await metrics();
    expect(m).toMatch(/^logitrack_queue_backpressure 1$/m);
    expect(m).toMatch(/^logitrack_queue_jobs\{state="waiting"\} 3$/m);
    await metrics();
    const warnings = logged.filter((l) => String(l.msg).startsWith("queue backpressure:"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, waiting: 3, threshold: 2 });
    const health = (await h.app.inject({ url: "/health", headers: h.bearer(h.adminToken) })).json();
    expect(health.checks.queue.detail).toMatchObject({ waiting: 3, backpressure: true });
  });

  it("counts the broker nodes shedding load from their heartbeats (logitrack_broker_shedding)", async () => {
    const beat = (shedding: boolean) =>
      JSON.stringify({
        at: Date.now(),
        clients: 0,
        loopDelayP99Ms: 0,
        loopDelayMaxMs: 0,
        held: 0,
        waiting: 0,
        rateDelayed: 0,
        pendingAuth: 0,
        shedding,
      } satisfies Omit<BrokerHeartbeat, "at"> & { at: number });
    expect(await metrics()).toMatch(/^logitrack_broker_shedding 0$/m);
    const keys = ["shed-a", "shed-b", "calm"].map((n) => `${HEARTBEAT_PREFIX}${n}`);
    await h.redis.set(keys[0] as string, beat(true), "PX", 15_000);
    await h.redis.set(keys[1] as string, beat(true), "PX", 15_000);
    await h.redis.set(keys[2] as string, beat(false), "PX", 15_000);
    expect(await metrics()).toMatch(/^logitrack_broker_shedding 2$/m);
    await h.redis.del(...keys);
    expect(await metrics()).toMatch(/^logitrack_broker_shedding 0$/m);
  });

  it("is protected when METRICS_PUBLIC=false", async () => {
    const closed = await startApi({ env: { METRICS_PUBLIC: "false" }, redisUrl: h.redisUrl });
    try {
      expect((await closed.app.inject({ url: "/metrics" })).statusCode).toBe(401);
      const ok = await closed.app.inject({ url: "/metrics", headers: closed.bearer(closed.viewerToken) });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers["content-type"]).toMatch(/^text\/plain/);
    } finally {
      await closed.close();
    }
    expect((await h.app.inject({ url: "/metrics" })).statusCode).toBe(200);
  });
});
