import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addIntegration, type DeviceCredentials } from "../../core/vehicles.ts";
import { type BrokerNode, startBrokerNode } from "../support/broker-node.ts";
import { withClientId } from "../support/client-id.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { waitFor } from "../support/wait.ts";

// Two embedded-broker nodes (broker/main.ts processes, BROKER_CLUSTER=redis) sharing the
// platform's Redis and PostgreSQL, as behind a TCP load balancer. The rejection notice on
// fleet/{id}/errors is a message the platform publishes through the node that received the bad
// payload, so it stands in for any platform → device message (commands, events).
const now = Date.now();
const badFix = JSON.stringify({ lat: 95, lng: 55.27, recordedAt: now });

describe("clustered embedded brokers (mqemitter-redis + aedes-persistence-redis)", () => {
  let p: TestPlatform;
  let redis: RedisServer;
  let nodeA: BrokerNode;
  let nodeB: BrokerNode;
  const clients: MqttClient[] = [];

  const startNode = () => startBrokerNode(p.env);
  const connect = async (node: BrokerNode, creds: DeviceCredentials, opts: IClientOptions = {}) => {
    const c = await mqtt.connectAsync(
      node.url,
      withClientId({ username: creds.username, password: creds.password, reconnectPeriod: 0, ...opts }),
    );
    clients.push(c);
    return c;
  };
  const nextMessage = (c: MqttClient) =>
    new Promise<{ topic: string; body: { reason: string; messageId: string } }>((resolve) =>
      c.once("message", (topic, payload) => resolve({ topic, body: JSON.parse(payload.toString()) })),
    );

  beforeAll(async () => {
    // a Redis server of this file's own: nothing else can flush its database mid-test, and the
    // cluster emitter's pub/sub channels (server-wide, named after MQTT topics) carry only this
    // file's traffic
    redis = await startRedis();
    p = await startPlatform({ redisUrl: redis.url });
    nodeA = await startNode();
    nodeB = await startNode();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    for (const n of [nodeA, nodeB]) n?.process.kill("SIGTERM");
    await Promise.all([nodeA, nodeB].map((n) => n?.process.exited));
    await p?.close();
    await redis?.cleanup();
  });

  it("delivers to a device on node A a message published through node B", async () => {
    const [creds] = (await p.register("cl-live", 1)) as [DeviceCredentials];
    const onA = await connect(nodeA, creds, { clientId: `${creds.id}:listen` });
    await onA.subscribeAsync(`fleet/${creds.id}/errors`, { qos: 1 });
    const received = nextMessage(onA);

    const onB = await connect(nodeB, creds, { clientId: `${creds.id}:publish` });
    await onB.publishAsync(`fleet/${creds.id}/location`, badFix, { qos: 1 });

    const { topic, body } = await received;
    expect(topic).toBe(`fleet/${creds.id}/errors`);
    expect(body.reason).toBe("E_OUT_OF_RANGE");
  });

  it("never forwards a rejected payload to a subscriber on the other node", async () => {
    const [creds] = (await p.register("cl-fwd", 1)) as [DeviceCredentials];
    const watcher = await mqtt.connectAsync(
      nodeA.url,
      withClientId({ ...(await addIntegration(p.pool, "cl-dashboard")), reconnectPeriod: 0 }),
    );
    clients.push(watcher);
    const seen: string[] = [];
    watcher.on("message", (topic, payload) => {
      if (topic === `fleet/${creds.id}/location`) seen.push(payload.toString());
    });
    await watcher.subscribeAsync("fleet/#", { qos: 1 });
    const device = await connect(nodeB, creds, { clientId: `${creds.id}:dev` });
    const good = JSON.stringify({ lat: 25.2, lng: 55.27, recordedAt: now });
    await device.publishAsync(`fleet/${creds.id}/location`, badFix, { qos: 1 });
    await device.publishAsync(`fleet/${creds.id}/location`, good, { qos: 1 });
    // the valid message behind the bad one arrives; the bad one never does
    await waitFor(
      async () => seen.length,
      (n) => n >= 1,
      { what: "the valid fix on node A" },
    );
    expect(seen).toEqual([good]);
  });

  it("gives a device reconnecting to the other node its persistent session and queued QoS 1 messages", async () => {
    const [creds] = (await p.register("cl-session", 1)) as [DeviceCredentials];
    const clientId = `${creds.id}:persistent`;
    const first = await connect(nodeA, creds, { clientId, clean: false });
    await first.subscribeAsync(`fleet/${creds.id}/errors`, { qos: 1 });
    await first.endAsync();

    // while the device is offline, the platform has something to tell it (through node B)
    const other = await connect(nodeB, creds, { clientId: `${creds.id}:other` });
    await other.publishAsync(`fleet/${creds.id}/location`, badFix, { qos: 1 });
    await other.endAsync();

    const again = mqtt.connect(nodeB.url, {
      username: creds.username,
      password: creds.password,
      clientId,
      clean: false,
      reconnectPeriod: 0,
    });
    clients.push(again);
    const received = nextMessage(again);
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      again.once("connect", resolve);
      again.once("error", reject);
    });
    expect(connack.sessionPresent).toBe(true);
    const { topic, body } = await received;
    expect(topic).toBe(`fleet/${creds.id}/errors`);
    expect(body.reason).toBe("E_OUT_OF_RANGE");

    // the subscription itself came with the session: a new notice arrives without subscribing
    const next = nextMessage(again);
    const third = await connect(nodeA, creds, { clientId: `${creds.id}:third` });
    await third.publishAsync(`fleet/${creds.id}/location`, badFix, { qos: 1 });
    expect((await next).body.reason).toBe("E_OUT_OF_RANGE");
  });
});
