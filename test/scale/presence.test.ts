import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { presenceKeys } from "../../broker/presence.ts";
import { sweepPresence } from "../../broker/presence-sweep.ts";
import { createLogger } from "../../core/logger.ts";
import { addIntegration, type DeviceCredentials } from "../../core/vehicles.ts";
import { type BrokerNode, startBrokerNode } from "../support/broker-node.ts";
import { clientIdOf, withClientId } from "../support/client-id.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { waitFor } from "../support/wait.ts";

// Presence over two embedded-broker nodes (broker/main.ts processes, BROKER_CLUSTER=redis) sharing
// the platform's Redis and PostgreSQL, as behind a TCP load balancer: it is per vehicle, not per
// node. A grace of one second; heartbeats lapse after 15 s (core/heartbeat.ts).

describe("presence over several broker nodes", () => {
  let p: TestPlatform;
  let redis: RedisServer;
  let nodeA: BrokerNode;
  let nodeB: BrokerNode;
  const clients: MqttClient[] = [];

  const startNode = () => startBrokerNode(p.env);
  const connect = async (
    node: BrokerNode,
    creds: { username: string; password: string },
    opts: IClientOptions = {},
  ) => {
    const c = await mqtt.connectAsync(
      node.url,
      withClientId({ username: creds.username, password: creds.password, reconnectPeriod: 0, ...opts }),
    );
    clients.push(c);
    return c;
  };
  const online = async (id: string) =>
    (await p.pool.query<{ online: boolean | null }>("SELECT online FROM vehicles WHERE id = $1", [id]))
      .rows[0]?.online;
  const kinds = async (id: string) =>
    (
      await p.pool.query<{ kind: string }>(
        "SELECT kind FROM presence_events WHERE vehicle_id = $1 ORDER BY at, id",
        [id],
      )
    ).rows.map((r) => r.kind);

  beforeAll(async () => {
    redis = await startRedis();
    p = await startPlatform({ redisUrl: redis.url, cluster: true, env: { PRESENCE_GRACE_S: "1" } });
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

  it("keeps a vehicle that moved to node B online when node A sees its old session end", async () => {
    const [creds] = (await p.register("pp-move", 1)) as [DeviceCredentials];
    const clientId = clientIdOf(creds.username);
    const onA = await connect(nodeA, creds, { clientId });
    await waitFor(
      () => online(creds.id),
      (o) => o === true,
      { what: "online on node A" },
    );
    const [onAField] = await p.redis.hkeys(presenceKeys.sessions(creds.id));
    expect(onAField).toBeDefined();
    const closedOnA = new Promise<void>((resolve) => onA.once("close", () => resolve()));
    // the same client id on node B: node A closes its session (MQTT-3.1.4-2, across the cluster)
    await connect(nodeB, creds, { clientId });
    await closedOnA;
    await waitFor(
      () => p.redis.hkeys(presenceKeys.sessions(creds.id)),
      (fields) => fields.length === 1 && fields[0] !== onAField,
      { what: "node A's session gone, node B's left" },
    );
    // however long after: nothing to change
    const later = Date.now() + 3_600_000;
    const log = createLogger("presence-test", "silent");
    expect(await sweepPresence({ pool: p.pool, redis: p.redis, graceMs: 1000, now: later, log })).toEqual([]);
    expect(await online(creds.id)).toBe(true);
    expect(await kinds(creds.id)).toEqual(["online"]);
  });

  it("goes online → offline → online when the node holding its session is killed, and says so on MQTT", async () => {
    const [creds] = (await p.register("pp-kill", 1)) as [DeviceCredentials];
    const watcher = await connect(nodeB, await addIntegration(p.pool, "pp-dashboard"));
    const heard: { kind: string; vehicleId: string }[] = [];
    watcher.on("message", (_topic, payload) => {
      const m = JSON.parse(payload.toString()) as { type: string; kind: string; vehicleId: string };
      if (m.type === "presence") heard.push(m);
    });
    await watcher.subscribeAsync(`fleet/${creds.id}/events`, { qos: 1 });

    await connect(nodeA, creds);
    await waitFor(
      () => online(creds.id),
      (o) => o === true,
      { what: "online on node A" },
    );
    // the node that claims an event relays it (broker/relay-events.ts): killed before its publish
    // left, the event would be missing from MQTT (it stays in the events table); here the kill is
    // about the session, so the online event is heard first
    await waitFor(
      async () => heard.map((m) => m.kind),
      (k) => k.length >= 1,
      { what: "the online event on fleet/{id}/events" },
    );
    nodeA.process.kill("SIGKILL");
    await nodeA.process.exited;
    // no DISCONNECT ever comes: the session ends when node A's heartbeat lapses
    await waitFor(
      () => online(creds.id),
      (o) => o === false,
      { what: "offline after node A died", timeoutMs: 90_000 },
    );
    await connect(nodeB, creds);
    await waitFor(
      () => online(creds.id),
      (o) => o === true,
      { what: "online again on node B" },
    );
    expect(await kinds(creds.id)).toEqual(["online", "offline", "online"]);
    await waitFor(
      async () => heard.map((m) => m.kind),
      (k) => k.length >= 3,
      { what: "the presence events on fleet/{id}/events" },
    );
    expect(heard).toEqual([
      expect.objectContaining({ vehicleId: creds.id, kind: "online" }),
      expect.objectContaining({ vehicleId: creds.id, kind: "offline" }),
      expect.objectContaining({ vehicleId: creds.id, kind: "online" }),
    ]);
  }, 150_000);
});
