import type { MqttClient } from "mqtt";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { addVehicle, type DeviceCredentials } from "../../../core/vehicles.ts";
import { maintainPartitions } from "../../../worker/maintenance.ts";
import { startPlatform, type TestPlatform } from "../../support/platform.ts";
import { sleep, waitFor } from "../../support/wait.ts";

// Security review, finding 7 (docs/security.md): the device rate limit counted messages, not fixes,
// so 50 messages/s of 5,000-element arrays were 250,000 fixes (or dead-letter rows) a second from
// one credential, and rejected_messages was kept for ever.
const log = pino({ level: "silent" });
const DAY = 86_400_000;

describe("finding 7: the device rate limit counts fixes; arrays are capped; the dead letter ages out", () => {
  let p: TestPlatform | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  const rowsOf = async (platform: TestPlatform, table: string, vehicleId: string, reason?: string) =>
    (
      await platform.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table} WHERE vehicle_id = $1 ${reason ? "AND reason = $2" : ""}`,
        reason ? [vehicleId, reason] : [vehicleId],
      )
    ).rows[0]?.n ?? 0;

  it("finding 7: 50 messages of 5,000-element arrays are each rejected whole (E_TOO_LARGE), not stored as 250,000 rows", async () => {
    // the production defaults of the limits (the main suite raises them: vitest.config.ts)
    p = await startPlatform({ env: { DEVICE_RATE_LIMIT: "1000", DEVICE_RATE_BURST: "5000" } });
    const platform = p;
    const creds = await addVehicle(p.pool, { id: "f7-array" });
    const client = await p.connect(creds);
    const errors: string[] = [];
    client.on("message", (_t, payload) => errors.push(payload.toString()));
    await client.subscribeAsync(`fleet/${creds.id}/errors`, { qos: 1 });
    // 5,000 elements in 10 KB: far below MAX_PAYLOAD_BYTES, each element a reject before the fix
    const array = JSON.stringify(Array.from({ length: 5000 }, () => 0));
    await Promise.all(
      Array.from({ length: 50 }, () => client.publishAsync(`fleet/${creds.id}/locations`, array, { qos: 1 })),
    );
    await waitFor(
      () => rowsOf(platform, "rejected_messages", creds.id),
      (n) => n >= 50,
      { timeoutMs: 30_000, what: "the rejects stored" },
    );
    await sleep(500);
    expect(await rowsOf(p, "rejected_messages", creds.id, "E_TOO_LARGE")).toBe(50);
    expect(await rowsOf(p, "rejected_messages", creds.id)).toBe(50);
    await waitFor(
      async () => errors.length,
      (n) => n >= 50,
      { timeoutMs: 10_000, what: "the error notices" },
    );
    expect(JSON.parse(errors[0] ?? "{}")).toMatchObject({
      reason: "E_TOO_LARGE",
      detail: "5000 fixes > MAX_FIXES_PER_UPLOAD 1000",
    });
  });

  it("finding 7: a device sending arrays faster than DEVICE_RATE_LIMIT fixes/s is held to it; the excess is refused", async () => {
    const rate = 250;
    const burst = 500;
    // half the hold cap (2 s) is the longest a PUBACK waits: 500 fixes of debt at 250/s
    p = await startPlatform({
      env: { DEVICE_RATE_LIMIT: String(rate), DEVICE_RATE_BURST: String(burst), HOLD_CAP_MS: "4000" },
    });
    const platform = p;
    const creds: DeviceCredentials = await addVehicle(p.pool, { id: "f7-rate" });
    // five connections of the one device, two messages of 500 valid fixes each: 5,000 fixes at once
    const clients: MqttClient[] = await Promise.all(Array.from({ length: 5 }, () => platform.connect(creds)));
    const base = Date.now() - 3_600_000;
    const acks: { at: number; fixes: number }[] = [];
    const t0 = performance.now();
    clients.forEach((client, c) => {
      for (let m = 0; m < 2; m++) {
        const fixes = Array.from({ length: 500 }, (_, i) => ({
          lat: 25.2,
          lng: 55.27 + i * 1e-5,
          recordedAt: base + (c * 2 + m) * 1000 + i,
        }));
        client.publishAsync(`fleet/${creds.id}/locations`, JSON.stringify(fixes), { qos: 1 }).then(
          () => acks.push({ at: performance.now() - t0, fixes: 500 }),
          () => {},
        );
      }
    });
    await sleep(4000);
    // the k-th acknowledged fix cannot come before (k - burst) / rate seconds (timer slack 50 ms)
    let fixes = 0;
    for (const a of acks.sort((x, y) => x.at - y.at)) {
      fixes += a.fixes;
      expect(fixes, `${fixes} fixes acknowledged at ${Math.round(a.at)} ms`).toBeLessThanOrEqual(
        burst + (rate * (a.at + 50)) / 1000,
      );
    }
    // messages that would have waited past the longest delay were refused (no PUBACK), not held
    expect(p.broker.limits.refusals.fix_rate).toBeGreaterThanOrEqual(1);
    expect(acks.length).toBeLessThan(10);
    // the device goes away; what the broker still held settles within the longest delay
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await sleep(2500);
    await platform.bridge.flush();
    const elapsedS = (performance.now() - t0) / 1000;
    const stored = await waitFor(
      () => rowsOf(platform, "vehicle_locations", creds.id),
      (n) => n >= fixes,
      { timeoutMs: 20_000, what: "the acknowledged fixes stored" },
    );
    await sleep(1000);
    expect(await rowsOf(platform, "vehicle_locations", creds.id)).toBe(stored);
    expect(stored).toBeLessThanOrEqual(burst + rate * elapsedS);
    // refused, not lost: once the bucket refills the device resends and is accepted
    await sleep(2000);
    const again = await p.connect(creds);
    const resend = Array.from({ length: 500 }, (_, i) => ({
      lat: 25.2,
      lng: 55.3,
      recordedAt: base + 20_000 + i,
    }));
    await again.publishAsync(`fleet/${creds.id}/locations`, JSON.stringify(resend), { qos: 1 });
    await waitFor(
      () => rowsOf(platform, "vehicle_locations", creds.id),
      (n) => n === stored + 500,
      { timeoutMs: 20_000, what: "the resent fixes stored" },
    );
  });

  it("finding 7: the retention job deletes rejected_messages older than REJECTED_RETENTION_DAYS", async () => {
    p = await startPlatform({ worker: false });
    const now = Date.now();
    const insert = (vehicleId: string, ageDays: number, seq: number) =>
      p?.pool.query(
        `INSERT INTO rejected_messages (vehicle_id, topic, payload, reason, detail, received_at, batch_id, seq)
         VALUES ($1, 'fleet/x/location', '{}', 'E_BAD_JSON', 'x', $2, 'f7-batch', $3)`,
        [vehicleId, new Date(now - ageDays * DAY), seq],
      );
    await insert("f7-old", 40, 1);
    await insert("f7-old", 31, 2);
    await insert("f7-new", 29, 3);
    await insert("f7-new", 0, 4);
    const result = await maintainPartitions(
      p.pool,
      { unit: "day", ahead: 1, retentionDays: 90, rejectedRetentionDays: 30, now },
      log,
    );
    expect(result.rejectsDeleted).toBe(2);
    expect(await rowsOf(p, "rejected_messages", "f7-old")).toBe(0);
    expect(await rowsOf(p, "rejected_messages", "f7-new")).toBe(2);
  });
});
