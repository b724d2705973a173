import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventMessage } from "../../core/events.ts";
import type { DeviceCredentials } from "../../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";

describe("geofence events reach MQTT fleet/{id}/events", () => {
  let p: TestPlatform;
  let fence: number;

  beforeAll(async () => {
    p = await startPlatform();
    const r = await p.pool.query<{ id: number }>(
      // created before the test's fixes: a geofence judges only fixes after its creation
      `INSERT INTO geofences (name, polygon, created_at)
       VALUES ('depot', ST_MakeEnvelope(55.29, 25.29, 55.31, 25.31, 4326), now() - interval '30 days')
       RETURNING id::int`,
    );
    fence = r.rows[0]?.id as number;
  });
  afterAll(() => p?.close());

  it("relays the worker's enter and exit, once each and in order, to the vehicle's events topic at QoS 1", async () => {
    const [creds] = await p.register("relay", 1);
    const { id } = creds as DeviceCredentials;
    const device = await p.connect(creds as DeviceCredentials);
    await device.subscribeAsync(`fleet/${id}/events`, { qos: 1 });
    // the geofence events; the vehicle's presence `online` event shares the topic, whenever its
    // sweep runs (broker/presence-sweep.ts)
    const received: { msg: EventMessage; qos: number }[] = [];
    device.on("message", (_topic, payload, packet) => {
      const msg = JSON.parse(payload.toString()) as EventMessage | { type: "presence" };
      if (msg.type !== "presence") received.push({ msg: msg as EventMessage, qos: packet.qos });
    });

    const t0 = Date.now() - 15 * 60_000;
    const track = Array.from({ length: 31 }, (_, i) => ({
      lat: 25.3,
      lng: 55.271 + i * 0.002,
      recordedAt: t0 + i * 30_000,
      speed: 25,
      ignition: true,
    }));
    // a store-and-forward upload: the whole track in one message
    await device.publishAsync(`fleet/${id}/locations`, JSON.stringify(track), { qos: 1 });

    await waitFor(
      async () => received.length,
      (n) => n >= 2,
      { timeoutMs: 20_000, what: "two events on MQTT" },
    );
    expect(received.map((r) => [r.msg.kind, r.msg.at, r.qos])).toEqual([
      ["enter", t0 + 10 * 30_000, 1],
      ["exit", t0 + 20 * 30_000, 1],
    ]);
    expect(received[0]?.msg).toMatchObject({
      type: "geofence",
      vehicleId: id,
      geofenceId: fence,
      geofenceName: "depot",
    });
    const stored = await p.pool.query(
      "SELECT id::float8 AS id FROM geofence_events WHERE vehicle_id = $1 ORDER BY at",
      [id],
    );
    expect(received.map((r) => r.msg.id)).toEqual(stored.rows.map((r) => r.id));
  });
});
