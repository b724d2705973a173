import type { MqttClient } from "mqtt";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bridge, createBridge, type IncomingMessage } from "../../bridge/bridge.ts";
import { loadConfig } from "../../core/config.ts";
import { createRedis, redisKeys } from "../../core/redis.ts";
import { REJECT_REASONS } from "../../core/reject-reasons.ts";
import { type IngestKind, topics } from "../../core/topics.ts";
import { addVehicle, type DeviceCredentials } from "../../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";
import { type HostileCase, hostileCorpus } from "./fixtures/hostile-corpus.ts";

// At least 1,000 hostile payloads over MQTT, each followed by a valid fix: the broker (in this
// process, so Object.prototype can be inspected) must acknowledge every one, keep the connection,
// reject each bad one with a known reason (or ignore an OwnTracks message without a fix, on
// purpose), store every valid neighbour, and stay unpolluted.
const IMEI = "356307042441013";

function topicFor(kind: IngestKind, vehicleId: string): string {
  if (kind === "native") return topics.location(vehicleId);
  if (kind === "native-batch") return topics.locations(vehicleId);
  if (kind === "owntracks") return topics.owntracks(vehicleId, "phone");
  return topics.teltonika(IMEI);
}

const prototypeNames = () =>
  [Object.prototype, Array.prototype, Function.prototype, String.prototype].map((p) =>
    Object.getOwnPropertyNames(p).sort().join(","),
  );

describe("hostile input over MQTT", () => {
  let p: TestPlatform;
  let creds: DeviceCredentials;
  let device: MqttClient;
  let oracle: Bridge;
  const before = prototypeNames();

  beforeAll(async () => {
    p = await startPlatform();
    creds = await addVehicle(p.pool, { id: "hostile-1", imei: IMEI });
    device = await p.connect(creds);
    // the same decision the broker's bridge makes, computed here without a queue
    oracle = createBridge({
      config: loadConfig({ ...p.env }),
      queue: {} as never,
      redis: createRedis(p.config.REDIS_URL, { lazyConnect: true }),
      log: pino({ level: "silent" }),
    });
  });
  afterAll(async () => {
    await oracle?.close();
    await p?.close();
  });

  it("rejects every bad payload with a reason, stores every valid neighbour, and stays connected and unpolluted", async () => {
    const now = Date.now();
    const corpus = hostileCorpus(now);
    const decide = (c: HostileCase, i: number) =>
      oracle.decide({
        vehicleId: creds.id,
        imei: IMEI,
        topic: topicFor(c.kind, creds.id),
        payload: c.payload,
        receivedAt: now,
        messageId: `case-${i}`,
      } satisfies IncomingMessage);

    const expectedRejects = new Map<string, number>();
    let bad = 0;
    let ignored = 0;
    let hostileButValid = 0;
    // most cases share one recordedAt: the valid ones among them make one row per distinct time
    const storedKeys = new Set<number>();
    const wrongReason: string[] = [];
    corpus.forEach((c, i) => {
      const d = decide(c, i);
      for (const r of d.rejects) {
        expect(Object.keys(REJECT_REASONS)).toContain(r.reason);
        expect(r.detail.length).toBeGreaterThan(0);
        expectedRejects.set(r.reason, (expectedRejects.get(r.reason) ?? 0) + 1);
      }
      for (const f of d.fixes) storedKeys.add(f.recordedAt);
      if (d.ignored !== undefined) {
        ignored++;
        // only OwnTracks ignores, on purpose, the message types that carry no fix
        expect(c.kind, `${c.category} #${i} ignored: ${d.ignored}`).toBe("owntracks");
        if (c.ignored) expect(d.ignored).toMatch(/carries no fix|zero-length/);
      } else if (d.fixes.length === 0) {
        bad++;
        expect(d.rejects.length, `${c.category} #${i} neither stored nor rejected`).toBeGreaterThan(0);
      } else {
        hostileButValid++;
      }
      if (c.reason !== undefined && d.rejects[0]?.reason !== c.reason)
        wrongReason.push(
          `${c.category} #${i}: expected ${c.reason}, got ${d.rejects[0]?.reason ?? "no reject"}`,
        );
    });
    expect(wrongReason).toEqual([]);
    expect(bad).toBeGreaterThanOrEqual(1000);
    console.log(
      `hostile corpus: ${corpus.length} cases; ${bad} rejected, ${ignored} ignored on purpose, ` +
        `${hostileButValid} valid despite appearances (stored); by category:`,
      Object.fromEntries(
        [...new Set(corpus.map((c) => c.category))].map((cat) => [
          cat,
          corpus.filter((c) => c.category === cat).length,
        ]),
      ),
    );

    // over MQTT: each case followed by a valid fix, in order, in bursts
    let closes = 0;
    device.on("close", () => closes++);
    let t = now - 2 * 3_600_000;
    const valid: number[] = [];
    for (let i = 0; i < corpus.length; i += 100) {
      const burst: Promise<unknown>[] = [];
      for (const c of corpus.slice(i, i + 100)) {
        burst.push(device.publishAsync(topicFor(c.kind, creds.id), c.payload, { qos: 1 }));
        t += 100;
        valid.push(t);
        burst.push(
          device.publishAsync(
            topics.location(creds.id),
            JSON.stringify({ lat: 24.5, lng: 54.5, recordedAt: t }),
            {
              qos: 1,
            },
          ),
        );
      }
      await Promise.all(burst);
    }
    expect(closes).toBe(0);
    expect(device.connected).toBe(true);

    const rows = await waitFor(
      () => p.rowCount(),
      (n) => n >= valid.length + storedKeys.size,
      { what: "valid neighbours stored" },
    );
    expect(rows).toBe(valid.length + storedKeys.size);
    const neighbours = await p.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM vehicle_locations
       WHERE vehicle_id = $1 AND recorded_at = ANY (SELECT timestamptz 'epoch' + x * interval '1 millisecond' FROM unnest($2::bigint[]) x)
         AND ST_Y(location) = 24.5 AND ST_X(location) = 54.5`,
      [creds.id, valid],
    );
    expect(neighbours.rows[0]?.n).toBe(valid.length);
    const totalRejects = [...expectedRejects.values()].reduce((a, b) => a + b, 0);
    const stored = await waitFor(
      async () =>
        (
          await p.pool.query<{ reason: string; n: number }>(
            "SELECT reason, count(*)::int AS n FROM rejected_messages WHERE vehicle_id = $1 GROUP BY reason",
            [creds.id],
          )
        ).rows,
      (r) => r.reduce((a, x) => a + x.n, 0) >= totalRejects,
      { what: `${totalRejects} rejects stored` },
    );
    expect(Object.fromEntries(stored.map((r) => [r.reason, r.n]))).toEqual(
      Object.fromEntries(expectedRejects),
    );
    expect(Number(await p.redis.hget(redisKeys.metrics, "bridge_ignored"))).toBe(ignored);

    // nothing polluted in this process (the broker and bridge run here)
    expect(prototypeNames()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).prototype).toBeUndefined();

    // another device is served afterwards
    const [other] = (await p.register("after-hostile", 1)) as [DeviceCredentials];
    const fresh = await p.connect(other);
    await fresh.publishAsync(
      topics.location(other.id),
      JSON.stringify({ lat: 1, lng: 1, recordedAt: now - 1000 }),
      {
        qos: 1,
      },
    );
    await waitFor(
      () => p.rowCount(),
      (n) => n === rows + 1,
      { what: "the other device's fix" },
    );
  });
});
