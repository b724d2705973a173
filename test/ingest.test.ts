import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveKeys } from "../core/live-state.ts";
import { redisKeys } from "../core/redis.ts";
import type { DeviceCredentials } from "../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "./support/platform.ts";
import { waitFor } from "./support/wait.ts";

const VEHICLES = 50;
const PER_VEHICLE = 200;
const TOTAL = VEHICLES * PER_VEHICLE;
const BASE = Date.now() - 3_600_000;

function fixFor(v: number, i: number) {
  return { lat: 25 + v * 0.001, lng: 55 + i * 0.0001, recordedAt: BASE + i * 1000, speed: (i % 120) + 0.5 };
}

async function publishAll(clients: MqttClient[], creds: DeviceCredentials[]): Promise<void> {
  await Promise.all(
    clients.map(async (c, v) => {
      const id = creds[v]?.id as string;
      const pubs: Promise<unknown>[] = [];
      for (let i = 0; i < PER_VEHICLE; i++) {
        pubs.push(c.publishAsync(`fleet/${id}/location`, JSON.stringify(fixFor(v, i)), { qos: 1 }));
      }
      await Promise.all(pubs);
    }),
  );
}

describe("MQTT ingest into PostGIS", () => {
  let p: TestPlatform;
  let creds: DeviceCredentials[];
  let clients: MqttClient[];

  beforeAll(async () => {
    p = await startPlatform();
    creds = await p.register("ingest", VEHICLES);
    clients = await Promise.all(creds.map((c) => p.connect(c)));
  });
  afterAll(() => p?.close());

  it("stores exactly 10,000 QoS 1 fixes from 50 clients, each with its geometry and time", async () => {
    await publishAll(clients, creds);
    await waitFor(
      () => p.rowCount(),
      (n) => n >= TOTAL,
      { what: "10,000 rows" },
    );
    const rows = await p.pool.query<{ vehicle_id: string; t: number; x: number; y: number; speed: number }>(
      `SELECT vehicle_id, (extract(epoch FROM recorded_at) * 1000)::bigint AS t,
              ST_X(location) AS x, ST_Y(location) AS y, speed, ST_SRID(location) AS srid
       FROM vehicle_locations`,
    );
    expect(rows.rowCount).toBe(TOTAL);
    const byVehicle = new Map(creds.map((c, v) => [c.id, v]));
    let matched = 0;
    for (const r of rows.rows) {
      const v = byVehicle.get(r.vehicle_id) as number;
      const i = Math.round((Number(r.t) - BASE) / 1000);
      const f = fixFor(v, i);
      expect(Number(r.t)).toBe(f.recordedAt);
      expect(r.x).toBeCloseTo(f.lng, 9);
      expect(r.y).toBeCloseTo(f.lat, 9);
      expect(r.speed).toBeCloseTo(f.speed, 3);
      matched++;
    }
    expect(matched).toBe(TOTAL);
  });

  it("stores the same 10,000 fixes published again once, and counts the duplicates", async () => {
    await publishAll(clients, creds);
    await waitFor(
      async () => Number(await p.redis.hget(redisKeys.metrics, "worker_fixes_duplicate")),
      (n) => n >= TOTAL,
      { what: "10,000 duplicates counted" },
    );
    expect(await p.rowCount()).toBe(TOTAL);
  });

  it("stores an older fix after a newer one in history without moving the live state back", async () => {
    const [c] = await p.register("late", 1);
    const client = await p.connect(c as DeviceCredentials);
    const id = (c as DeviceCredentials).id;
    const newer = { lat: 25.3, lng: 55.3, recordedAt: Date.now() - 1000 };
    const older = { lat: 25.1, lng: 55.1, recordedAt: Date.now() - 60_000 };
    await client.publishAsync(`fleet/${id}/location`, JSON.stringify(newer), { qos: 1 });
    await waitFor(
      () => p.redis.hget(liveKeys.live, id),
      (v) => v !== null,
      { what: "live state" },
    );
    await client.publishAsync(`fleet/${id}/location`, JSON.stringify(older), { qos: 1 });
    await waitFor(
      async () =>
        (await p.pool.query("SELECT 1 FROM vehicle_locations WHERE vehicle_id = $1", [id])).rowCount,
      (n) => n === 2,
      { what: "both fixes in history" },
    );
    const live = JSON.parse((await p.redis.hget(liveKeys.live, id)) as string);
    expect(live).toMatchObject({
      vehicleId: id,
      lat: newer.lat,
      lng: newer.lng,
      recordedAt: newer.recordedAt,
    });
    const geo = await p.redis.geopos(liveKeys.geo, id);
    expect(Number(geo[0]?.[1])).toBeCloseTo(newer.lat, 4);
    expect(Number(await p.redis.hget(redisKeys.metrics, "bridge_live_stale"))).toBeGreaterThanOrEqual(1);
  });
});
