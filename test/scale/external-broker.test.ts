import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INGEST_FILTERS } from "../../bridge/external-client.ts";
import { redisKeys } from "../../core/redis.ts";
import { type IngestKind, ownIngestKind } from "../../core/topics.ts";
import { addVehicle } from "../../core/vehicles.ts";
import { type MosquittoInstance, startMosquitto } from "../support/mosquitto.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { type Child, spawnEntry } from "../support/processes.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { sleep, waitFor } from "../support/wait.ts";

// Two bridge replicas (bridge/main.ts) read from a real Mosquitto through MQTT 5 shared
// subscriptions; the worker runs in this process. Devices publish straight to Mosquitto, which
// authenticates them in production (here: anonymous).
const now = Date.now();
const CONNECTIONS = 16;
const fix = (i: number, lat: number) =>
  JSON.stringify({ lat, lng: 55.27 + i * 1e-5, recordedAt: now - 600_000 + i * 10 });

describe("external-broker mode: bridge replicas behind MQTT 5 shared subscriptions", () => {
  let mosquitto: MosquittoInstance;
  let p: TestPlatform;
  let redis: RedisServer;
  const replicas: Child[] = [];
  const publishers: MqttClient[] = [];

  const startReplica = async (bridgeId: string): Promise<Child> => {
    const replica = spawnEntry("bridge/main.ts", {
      ...p.env,
      EXTERNAL_MQTT_URL: mosquitto.url,
      BRIDGE_ID: bridgeId,
      BRIDGE_CONNECTIONS: String(CONNECTIONS),
      LOG_LEVEL: "info",
    });
    replicas.push(replica);
    await waitFor(
      async () => replica.lines.some((l) => l.includes('"msg":"bridge subscribed"')),
      (ok) => ok,
      { what: `${bridgeId} to subscribe` },
    );
    return replica;
  };
  const publisher = async () => {
    const c = await mqtt.connectAsync(mosquitto.url, { reconnectPeriod: 0 });
    publishers.push(c);
    return c;
  };
  /** fixes the bridges have queued (their counter moves after each durable flush) */
  const queued = async () => Number((await p.redis.hget(redisKeys.metrics, "bridge_fixes_accepted")) ?? 0);
  const stored = async (prefix: string) => {
    const r = await p.pool.query<{ rows: number; keys: number }>(
      `SELECT count(*)::int AS rows, count(DISTINCT (vehicle_id, recorded_at))::int AS keys
         FROM vehicle_locations WHERE vehicle_id LIKE $1`,
      [`${prefix}-%`],
    );
    return r.rows[0] ?? { rows: 0, keys: 0 };
  };

  beforeAll(async () => {
    mosquitto = await startMosquitto();
    // a Redis server of this file's own: nothing else can flush its database mid-test, and the
    // cluster emitter's pub/sub channels (server-wide, named after MQTT topics) carry only this
    // file's traffic
    redis = await startRedis();
    p = await startPlatform({ redisUrl: redis.url });
  });
  afterAll(async () => {
    await Promise.all(publishers.map((c) => c.endAsync(true).catch(() => {})));
    for (const r of replicas) r.kill("SIGTERM");
    await Promise.all(replicas.map((r) => r.exited));
    await p?.close();
    await redis?.cleanup();
    await mosquitto?.stop();
  });

  it("subscribes to a filter for every kind of ingest topic", () => {
    // a Record over IngestKind: a new kind in core/topics.ts does not typecheck without a sample
    const samples: Record<IngestKind, string> = {
      native: "fleet/truck-1/location",
      "native-batch": "fleet/truck-1/locations",
      owntracks: "owntracks/truck-1/phone",
      teltonika: "356307042441013/data",
    };
    const owner = { vehicleId: "truck-1", imei: "356307042441013" };
    for (const [kind, topic] of Object.entries(samples)) {
      expect(ownIngestKind(topic, owner), topic).toBe(kind);
      expect(
        INGEST_FILTERS.some((f) => matches(f, topic)),
        topic,
      ).toBe(true);
    }
    expect(INGEST_FILTERS.some((f) => matches(f, "owntracks/truck-1/phone/event"))).toBe(true);
  });

  it("stores every fix exactly once when a replica is SIGKILLed mid-stream and restarted with its ids", async () => {
    const a = await startReplica("bridge-a");
    await startReplica("bridge-b");
    const vehicles = 10;
    const perVehicle = 600;
    const total = vehicles * perVehicle;
    const clients = await Promise.all(Array.from({ length: vehicles }, publisher));

    const publishing = (async () => {
      for (let round = 0; round < perVehicle / 20; round++) {
        // paced so that the kill lands mid-stream; Mosquitto acknowledges the publishers itself
        await Promise.all(
          clients.map((c, v) =>
            Promise.all(
              Array.from({ length: 20 }, (_, k) =>
                c.publishAsync(`fleet/ext-${v}/location`, fix(round * 20 + k, 25 + v * 0.01), { qos: 1 }),
              ),
            ),
          ),
        );
        await sleep(30);
      }
    })();

    // mid-stream for the bridges, whatever the worker's pace
    await waitFor(queued, (n) => n >= total / 4, { what: `${total / 4} fixes queued before the kill` });
    a.kill("SIGKILL");
    await a.exited;
    expect(await queued()).toBeLessThan(total);

    const restarted = await startReplica("bridge-a");
    await publishing;
    const final = await waitFor(
      () => stored("ext"),
      (s) => s.rows >= total,
      { timeoutMs: 90_000, what: `${total} rows` },
    );
    expect(final).toEqual({ rows: total, keys: total });
    // the restarted replica resumed the sessions of its client ids
    const resumed = restarted.lines.filter(
      (l) => l.includes('"msg":"external broker connected"') && l.includes('"sessionPresent":true'),
    );
    expect(resumed).toHaveLength(CONNECTIONS);
  });

  it("stores OwnTracks fixes by the topic's vehicle and Teltonika fixes by the registered IMEI", async () => {
    if (replicas.every((r) => r.child.exitCode !== null)) await startReplica("bridge-c");
    await addVehicle(p.pool, { id: "ext-teltonika", imei: "356307042441013" });
    const device = await publisher();
    await device.publishAsync(
      "owntracks/ext-phone/android",
      JSON.stringify({ _type: "location", lat: 25.2, lon: 55.3, tst: Math.floor(now / 1000) - 60, vel: 40 }),
      { qos: 1 },
    );
    await device.publishAsync(
      "356307042441013/data",
      JSON.stringify({ state: { reported: { ts: now - 60_000, latlng: "25.21,55.31", sp: 12 } } }),
      { qos: 1 },
    );
    const rows = await waitFor(
      async () =>
        (
          await p.pool.query<{ vehicle_id: string }>(
            "SELECT vehicle_id FROM vehicle_locations WHERE vehicle_id IN ('ext-phone', 'ext-teltonika') ORDER BY 1",
          )
        ).rows,
      (r) => r.length >= 2,
      { what: "the OwnTracks and Teltonika fixes" },
    );
    expect(rows.map((r) => r.vehicle_id)).toEqual(["ext-phone", "ext-teltonika"]);
  });

  it("acknowledges a bad payload, stores it as rejected and tells the device on fleet/{id}/errors", async () => {
    if (replicas.every((r) => r.child.exitCode !== null)) await startReplica("bridge-c");
    const device = await publisher();
    await device.subscribeAsync("fleet/ext-bad/errors", { qos: 1 });
    const notice = new Promise<{ reason: string }>((resolve) =>
      device.on("message", (_topic, payload) => resolve(JSON.parse(payload.toString()))),
    );
    await device.publishAsync(
      "fleet/ext-bad/location",
      JSON.stringify({ lat: 95, lng: 55, recordedAt: now }),
      { qos: 1 },
    );
    expect((await notice).reason).toBe("E_OUT_OF_RANGE");
    const rejected = await waitFor(
      async () =>
        (
          await p.pool.query<{ reason: string }>(
            "SELECT reason FROM rejected_messages WHERE vehicle_id = 'ext-bad'",
          )
        ).rows,
      (rows) => rows.length > 0,
      { what: "the rejected message row" },
    );
    expect(rejected.map((r) => r.reason)).toEqual(["E_OUT_OF_RANGE"]);
  });
});

/** MQTT topic filter matching ([MQTT-4.7]): `+` one level, `#` the rest. */
function matches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length || (f[i] !== "+" && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}
