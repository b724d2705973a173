import { randomUUID } from "node:crypto";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { locationQueueName, partitionOf } from "../../core/queues.ts";
import { addVehicle, type DeviceCredentials } from "../../core/vehicles.ts";
import { clientIdOf } from "../support/client-id.ts";
import { type Child, spawnEntry } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";
import { type ApiHarness, startApi } from "./harness.ts";

/** The value of one sample in Prometheus text, 0 when absent. */
function sample(text: string, series: string): number {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

// broker and worker as the separate processes they are in production; the API in this process
describe("the pipeline across processes: /metrics and correlation ids", () => {
  let h: ApiHarness;
  let broker: Child;
  let worker: Child;
  let client: MqttClient;
  let dev: DeviceCredentials;

  beforeAll(async () => {
    h = await startApi();
    const env = {
      ...process.env,
      DATABASE_URL: h.config.DATABASE_URL,
      REDIS_URL: h.config.REDIS_URL,
      MQTT_PORT: "0",
      MQTT_WS_PORT: "0",
      MQTT_HOST: "127.0.0.1",
      LOG_LEVEL: "debug",
    };
    broker = spawnEntry("broker/main.ts", env);
    worker = spawnEntry("worker/main.ts", env);
    const listening = await broker.waitForLine((l) => l.msg === "broker listening", "broker listening");
    await worker.waitForLine((l) => l.msg === "worker started", "worker started");
    dev = await addVehicle(h.pool, { id: `pipe-${randomUUID().slice(0, 8)}` });
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${listening.mqtt}`, {
      username: dev.username,
      password: dev.password,
      clientId: clientIdOf(dev.username),
      reconnectPeriod: 0,
    });
  });
  afterAll(async () => {
    await client?.endAsync(true);
    await broker?.stop();
    await worker?.stop();
    await h?.close();
  });

  const metrics = async () =>
    (await h.app.inject({ url: "/metrics", headers: h.bearer(h.viewerToken) })).body;

  it("moves /metrics when the broker process accepts and rejects fixes and the worker stores them", async () => {
    const before = await metrics();
    const series = {
      accepted: "logitrack_bridge_fixes_accepted_total",
      range: 'logitrack_bridge_rejected_total{reason="E_OUT_OF_RANGE"}',
      json: 'logitrack_bridge_rejected_total{reason="E_BAD_JSON"}',
      inserted: "logitrack_worker_fixes_inserted_total",
      stored: "logitrack_worker_rejects_stored_total",
    };
    const t = Date.now() - 60_000;
    for (let i = 0; i < 3; i++) {
      await client.publishAsync(
        `fleet/${dev.id}/location`,
        JSON.stringify({ lat: 25, lng: 55, recordedAt: t + i }),
        {
          qos: 1,
        },
      );
    }
    await client.publishAsync(
      `fleet/${dev.id}/location`,
      JSON.stringify({ lat: 95, lng: 55, recordedAt: t }),
      { qos: 1 },
    );
    await client.publishAsync(`fleet/${dev.id}/location`, "{oops", { qos: 1 });

    const after = await waitFor(
      metrics,
      (m) => sample(m, series.inserted) - sample(before, series.inserted) >= 3,
      {
        what: "3 fixes inserted in /metrics",
      },
    );
    expect(sample(after, series.accepted) - sample(before, series.accepted)).toBe(3);
    expect(sample(after, series.range) - sample(before, series.range)).toBe(1);
    expect(sample(after, series.json) - sample(before, series.json)).toBe(1);
    expect(sample(after, series.inserted) - sample(before, series.inserted)).toBe(3);
    await waitFor(metrics, (m) => sample(m, series.stored) - sample(before, series.stored) === 2, {
      what: "2 rejects stored",
    });
    // the worker's latency histograms: one commit-time observation per batch, one end-to-end per fix
    const e2e =
      sample(after, "logitrack_pipeline_latency_ms_count") -
      sample(before, "logitrack_pipeline_latency_ms_count");
    expect(e2e).toBeGreaterThanOrEqual(3);
    expect(sample(after, 'logitrack_pipeline_latency_ms_bucket{le="+Inf"}')).toBe(
      sample(after, "logitrack_pipeline_latency_ms_count"),
    );
    expect(sample(after, "logitrack_worker_commit_ms_count")).toBeGreaterThanOrEqual(1);
    expect(after).toContain("# TYPE logitrack_worker_commit_ms histogram");
    // BullMQ gauges and this process's own metrics are there too
    expect(after).toMatch(/^logitrack_queue_jobs\{state="waiting"\} \d+$/m);
    expect(after).toMatch(/^logitrack_queue_jobs\{state="failed"\} \d+$/m);
    expect(after).toMatch(/^logitrack_queue_backpressure 0$/m);
    expect(after).toMatch(/^logitrack_api_process_cpu_seconds_total /m);
  });

  it("follows one fix by its correlation id from the bridge log through the job to the worker's commit log", async () => {
    const messageId = `corr-${randomUUID()}`;
    await client.publishAsync(
      `fleet/${dev.id}/location`,
      JSON.stringify({ lat: 25.5, lng: 55.5, recordedAt: Date.now() - 1000, messageId }),
      { qos: 1 },
    );
    const queued = await broker.waitForLine(
      (l) => l.msg === "fix queued" && l.messageId === messageId,
      "fix queued",
    );
    const committed = await worker.waitForLine(
      (l) => l.msg === "fix committed" && l.messageId === messageId,
      "fix committed",
    );
    expect(queued).toMatchObject({ vehicleId: dev.id, messageId });
    expect(typeof queued.jobId).toBe("string");
    expect(committed).toMatchObject({ vehicleId: dev.id, messageId, jobId: queued.jobId });
    // the BullMQ job in between carries it as well
    const job = await h.queue.getJob(queued.jobId as string);
    expect(job?.queueName).toBe(locationQueueName(partitionOf(dev.id, h.queue.partitions)));
    expect(job?.data.fixes.map((f) => f.messageId)).toContain(messageId);
    // and the stored row
    const row = await h.pool.query("SELECT message_id FROM vehicle_locations WHERE message_id = $1", [
      messageId,
    ]);
    expect(row.rowCount).toBe(1);
  });
});
