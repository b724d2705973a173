import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeviceCredentials } from "../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "./support/platform.ts";
import { storedBesides, storeSentinel } from "./support/sentinel.ts";

const fix = () => JSON.stringify({ lat: 25.2, lng: 55.3, recordedAt: Date.now() - 1000 });

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once("close", () => resolve()));
}

describe("device access control", () => {
  let p: TestPlatform;
  let a: DeviceCredentials;
  let b: DeviceCredentials;
  let sentinel: DeviceCredentials;

  beforeAll(async () => {
    p = await startPlatform();
    [a, b] = (await p.register("acl", 2)) as [DeviceCredentials, DeviceCredentials];
    [sentinel] = (await p.register("acl-sentinel", 1)) as [DeviceCredentials];
  });
  afterAll(() => p?.close());

  it("disconnects a device that publishes to another vehicle's topic, and stores nothing", async () => {
    const client = await p.connect(a);
    const gone = closed(client);
    client.publish(`fleet/${b.id}/location`, fix(), { qos: 1 });
    await gone;
    await storeSentinel(p, sentinel);
    expect((await storedBesides(p, sentinel)).fixes).toBe(0);
  });

  it("disconnects a device that publishes to its own errors topic or to $SYS", async () => {
    for (const topic of [`fleet/${a.id}/errors`, "$SYS/anything"]) {
      const client = await p.connect(a);
      const gone = closed(client);
      client.publish(topic, "{}", { qos: 1 });
      await gone;
    }
  });

  it("refuses a wrong password with CONNACK 4", async () => {
    const err = await mqtt
      .connectAsync(p.mqttUrl, { username: a.username, password: "not-the-secret", reconnectPeriod: 0 })
      .then(
        (c) => {
          c.end(true);
          return undefined;
        },
        (e: { code?: number }) => e,
      );
    expect(err?.code).toBe(4);
  });

  it("refuses unknown users and anonymous clients", async () => {
    for (const opts of [{ username: "ghost", password: "x" }, {}]) {
      const err = await mqtt.connectAsync(p.mqttUrl, { ...opts, reconnectPeriod: 0 }).then(
        (c) => {
          c.end(true);
          return undefined;
        },
        (e: { code?: number }) => e,
      );
      expect(err?.code).toBe(4);
    }
  });

  it("grants a device its own errors, events and commands, and refuses fleet/# and other vehicles' topics", async () => {
    const client = await p.connect(a);
    const topicsAsked = [
      `fleet/${a.id}/errors`,
      `fleet/${a.id}/events`,
      `fleet/${a.id}/commands`,
      "fleet/#",
      `fleet/${b.id}/commands`,
      "#",
    ];
    // mqtt.js rejects a SUBACK holding any 0x80; the packet carries every granted QoS
    const suback = await client.subscribeAsync(topicsAsked, { qos: 1 }).then(
      () => undefined,
      (err: { packet?: { granted?: number[] } }) => err.packet,
    );
    expect(suback?.granted).toEqual([1, 1, 1, 128, 128, 128]);
    expect(client.connected).toBe(true);
  });
});
