import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../core/logger.ts";
import { generateWebhookSecret } from "../../core/notification-channels.ts";
import { createAlertNotifier, NotificationQueue } from "../../core/notifications.ts";
import { createRedis, type Redis } from "../../core/redis.ts";
import type { DeviceCredentials } from "../../core/vehicles.ts";
import { SIGNATURE_HEADER, verifySignature } from "../../core/webhook-signature.ts";
import { createWorker, type LocationWorkers } from "../../worker/create-worker.ts";
import { createNotifyWorker } from "../../worker/notify/create-notify-worker.ts";
import { addRule } from "../alerts/alert-rules.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";
import { type Receiver, startReceiver } from "./support/receiver.ts";

// The whole path of an alert: fixes over real MQTT → broker → bridge → BullMQ → worker (alert
// machine, outbox) → notifications queue → notify consumer → a signed webhook to a local receiver.
describe("a speeding episode from MQTT to a webhook", () => {
  let p: TestPlatform;
  let worker: LocationWorkers;
  let notifyWorker: ReturnType<typeof createNotifyWorker>;
  let queue: NotificationQueue;
  let receiver: Receiver;
  const conns: Redis[] = [];
  const conn = () => {
    const r = createRedis(p.config.REDIS_URL);
    conns.push(r);
    return r;
  };

  beforeAll(async () => {
    p = await startPlatform({
      worker: false,
      env: { WEBHOOK_ALLOW_PRIVATE: "true", NOTIFY_BACKOFF_MS: "20", NOTIFY_BACKOFF_CAP_MS: "100" },
    });
    const log = createLogger("e2e", p.config.LOG_LEVEL);
    queue = new NotificationQueue(conn());
    worker = createWorker({
      config: p.config,
      pool: p.pool,
      redis: p.redis,
      connection: conn(),
      log,
      notify: createAlertNotifier({ queue, pool: p.pool }),
    });
    await worker.ready;
    notifyWorker = createNotifyWorker({
      config: p.config,
      pool: p.pool,
      redis: conn(),
      connection: conn(),
      log,
    });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await notifyWorker?.close();
    await worker?.close();
    await queue?.close();
    for (const r of conns) r.disconnect();
    await p?.close();
  });

  it("delivers one signed start and one signed end", async () => {
    const secret = generateWebhookSecret();
    const channel = await p.pool.query<{ id: string }>(
      "INSERT INTO notification_channels (name, kind, config, secret) VALUES ('hook', 'webhook', $1, $2) RETURNING id",
      [JSON.stringify({ url: receiver.url }), secret],
    );
    const channelId = Number(channel.rows[0]?.id);
    const [creds] = (await p.register("e2e-speed", 1)) as [DeviceCredentials];
    const rule = await addRule(p.pool, {
      name: "over 80",
      kind: "speeding",
      params: { limitKmh: 80, minSeconds: 10 },
      scope: { kind: "vehicle", vehicleId: creds.id },
      channelIds: [channelId],
    });

    const device: MqttClient = await p.connect(creds);
    const t0 = Date.now() - 10 * 60_000;
    // every 5 s: 50 km/h, 100 from the 4th to the 9th fix (25 s over the limit), then 50 again
    for (let i = 0; i < 14; i++) {
      const speed = i >= 3 && i <= 8 ? 100 : 50;
      const fix = { lat: 25.2, lng: 55.27 + i * 0.0005, recordedAt: t0 + i * 5000, speed };
      await device.publishAsync(`fleet/${creds.id}/location`, JSON.stringify(fix), { qos: 1 });
    }

    const delivered = await waitFor(
      async () => receiver.delivered() as { id: number; phase: string; ruleId: number; peak: unknown }[],
      (d) => d.length >= 2,
      { what: "a start and an end at the webhook" },
    );
    expect(delivered.map((a) => [a.phase, a.ruleId])).toEqual([
      ["start", rule],
      ["end", rule],
    ]);
    expect(delivered[0]?.id).toBe(delivered[1]?.id);
    expect(delivered[1]).toMatchObject({
      vehicleId: creds.id,
      kind: "speeding",
      startedAt: new Date(t0 + 15_000).toISOString(),
      endedAt: new Date(t0 + 45_000).toISOString(),
      peak: { speedKmh: 100 },
    });
    for (const r of receiver.requests)
      expect(verifySignature(String(r.headers[SIGNATURE_HEADER]), secret, r.body)).toBe(true);

    // nothing left to tell: the outbox is empty and every delivery logged ok, once per phase
    await waitFor(
      async () => (await p.pool.query("SELECT 1 FROM alert_outbox")).rowCount,
      (n) => n === 0,
      { what: "the outbox drained" },
    );
    const log = await p.pool.query<{ phase: string; status: string }>(
      "SELECT phase, status FROM notification_deliveries WHERE channel_id = $1 ORDER BY id",
      [channelId],
    );
    expect(log.rows).toEqual([
      { phase: "start", status: "ok" },
      { phase: "end", status: "ok" },
    ]);
    expect(receiver.requests).toHaveLength(2);
  });
});
