import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bridge, createBridge } from "../../bridge/bridge.ts";
import { loadConfig } from "../../core/config.ts";
import { createLogger } from "../../core/logger.ts";
import { createLocationQueues } from "../../core/queues.ts";
import { createRedis, type Redis } from "../../core/redis.ts";
import { createTestRedis } from "../support/services.ts";

/**
 * Recorded payloads, valid and broken, replayed through the bridge's decision (topic → adapter →
 * validation → fix or reject) at the time they were recorded. One file per format in fixtures/.
 */
interface Fixture {
  topic: string;
  now: string;
  cases: {
    name: string;
    payload: string;
    expect:
      | { fix: Record<string, unknown>; absent?: string[] }
      | { reject: string; detail?: string }
      | { ignored: true };
  }[];
}

const VEHICLE = "truck-7";
const IMEI = "356307042441013";
const load = (name: string) =>
  JSON.parse(readFileSync(new URL(`fixtures/${name}.json`, import.meta.url), "utf8")) as Fixture;

describe("payload adapters replay recorded messages", () => {
  let redis: Redis;
  const bridges: Bridge[] = [];
  let closeQueue: () => Promise<void>;
  let bridgeAt: (now: number) => Bridge;

  beforeAll(async () => {
    const { url } = await createTestRedis();
    const config = loadConfig({ ...process.env, DATABASE_URL: "postgres://unused/unused", REDIS_URL: url });
    redis = createRedis(url);
    const queue = createLocationQueues(createRedis(url), config.QUEUE_PARTITIONS);
    closeQueue = () => queue.close();
    const log = createLogger("adapters-test", "silent");
    bridgeAt = (now) => {
      const b = createBridge({ config, queue, redis, log, now: () => now });
      bridges.push(b);
      return b;
    };
  });
  afterAll(async () => {
    for (const b of bridges) await b.close();
    await closeQueue?.();
    redis?.disconnect();
  });

  for (const format of ["native", "owntracks", "teltonika"]) {
    const fixture = load(format);
    const topic = fixture.topic.replace("{vehicleId}", VEHICLE).replace("{imei}", IMEI);
    describe(`${format} (${fixture.topic})`, () => {
      for (const c of fixture.cases) {
        it(c.name, () => {
          const decided = bridgeAt(Date.parse(fixture.now)).decide({
            vehicleId: VEHICLE,
            imei: IMEI,
            topic,
            payload: Buffer.from(c.payload),
            receivedAt: Date.parse(fixture.now),
            messageId: "m",
          });
          const e = c.expect;
          if ("ignored" in e) {
            expect(decided.ignored).toBeTruthy();
            expect(decided.fixes).toEqual([]);
            expect(decided.rejects).toEqual([]);
          } else if ("reject" in e) {
            expect(decided.fixes).toEqual([]);
            expect(decided.rejects.map((r) => r.reason)).toEqual([e.reject]);
            if (e.detail) expect(decided.rejects[0]?.detail).toContain(e.detail);
            expect(decided.rejects[0]?.payload).toBe(c.payload);
          } else {
            expect(decided.rejects).toEqual([]);
            expect(decided.fixes).toHaveLength(1);
            const fix = decided.fixes[0] as unknown as Record<string, unknown>;
            const { recordedAt, ...rest } = e.fix;
            expect(new Date(fix.recordedAt as number).toISOString()).toBe(recordedAt);
            expect(fix).toMatchObject({ vehicleId: VEHICLE, ...rest });
            for (const field of e.absent ?? []) expect(fix[field], field).toBeUndefined();
          }
        });
      }
    });
  }

  it("refuses a Teltonika topic whose IMEI is not the vehicle's, and an OwnTracks topic of another user", () => {
    const b = bridgeAt(Date.parse("2024-06-01T10:00:00Z"));
    const payload = Buffer.from("{}");
    for (const topic of ["356307042441099/data", "owntracks/truck-8/phone"]) {
      const d = b.decide({ vehicleId: VEHICLE, imei: IMEI, topic, payload, receivedAt: 0, messageId: "m" });
      expect(d.rejects.map((r) => r.reason)).toEqual(["E_TOPIC_MISMATCH"]);
    }
    const noImei = b.decide({
      vehicleId: VEHICLE,
      topic: `${IMEI}/data`,
      payload,
      receivedAt: 0,
      messageId: "m",
    });
    expect(noImei.rejects.map((r) => r.reason)).toEqual(["E_TOPIC_MISMATCH"]);
  });
});
