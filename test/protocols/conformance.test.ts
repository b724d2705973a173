import { connect as connectTcp } from "node:net";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addIntegration, addVehicle, type DeviceCredentials } from "../../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";
import { type ProtocolApi, startProtocolApi } from "./api.ts";
import { type Broker, connectArgs, mosquittoPub, mosquittoSub } from "./clients.ts";

/** CONNECT, MQTT 3.1.1, clean session 0, keepalive 60, zero-length client id, no credentials. */
const CONNECT_EMPTY_ID_CLEAN_0 = Buffer.from([
  0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x3c, 0x00, 0x00,
]);

/** Sends raw bytes and resolves with the first bytes the broker answers (or "" when it just closes). */
function exchange(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, "127.0.0.1", () => socket.write(bytes));
    let got = Buffer.alloc(0);
    socket.on("data", (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4) socket.destroy();
    });
    socket.on("close", () => resolve(got));
    socket.on("error", reject);
    socket.setTimeout(5000, () => socket.destroy());
  });
}

describe("MQTT 3.1.1 conformance beyond the fleet topics (MQTT_ALLOW_ANONYMOUS=true)", () => {
  let p: TestPlatform;
  let broker: Broker;
  let anon: string[];

  beforeAll(async () => {
    p = await startPlatform({ env: { MQTT_ALLOW_ANONYMOUS: "true" } });
    broker = { host: "127.0.0.1", port: p.broker.ports.mqtt };
    anon = connectArgs(broker);
  });
  afterAll(() => p?.close());

  it("keeps a retained message and hands it to a later subscriber with the retain flag", async () => {
    const r = await mosquittoPub([...anon, "-r", "-q", "1", "-t", "lab/config", "-m", "interval=30"]);
    expect(r.code, r.stderr).toBe(0);
    const sub = mosquittoSub([...anon, "-q", "1", "-t", "lab/config", "-C", "1"]);
    const [m] = await sub.waitForMessages(1);
    await sub.finished();
    expect(m).toMatchObject({ topic: "lab/config", payload: "interval=30", retained: true });
    // a zero-length retained message clears it [MQTT-3.3.1-10]
    await mosquittoPub([...anon, "-r", "-q", "1", "-t", "lab/config", "-n"]);
    const late = mosquittoSub([...anon, "-t", "lab/config"]);
    try {
      await late.subscribed;
      // the marker: a retained message goes out on the subscription, before anything published later
      await mosquittoPub([...anon, "-t", "lab/config", "-m", "later"]);
      await late.waitForMessages(1);
      expect(late.messages).toEqual([{ topic: "lab/config", payload: "later", retained: false, qos: 0 }]);
    } finally {
      await late.kill();
    }
  });

  it("publishes the will of a client that vanishes without DISCONNECT", async () => {
    const watcher = mosquittoSub([...anon, "-q", "1", "-t", "lab/status/#"]);
    const dying = mosquittoSub([
      ...anon,
      "-i",
      "lab-dying",
      "--will-topic",
      "lab/status/dying",
      "--will-payload",
      "offline",
      "--will-qos",
      "1",
      "-t",
      "lab/nothing",
    ]);
    try {
      await Promise.all([watcher.subscribed, dying.subscribed]);
      await dying.kill("SIGKILL");
      const [will] = await watcher.waitForMessages(1);
      expect(will).toMatchObject({ topic: "lab/status/dying", payload: "offline" });
      // a client that says DISCONNECT leaves no will [MQTT-3.1.2-10]
      const polite = mosquittoSub([
        ...anon,
        "--will-topic",
        "lab/status/polite",
        "--will-payload",
        "x",
        "-t",
        "lab/x",
        "-C",
        "1",
      ]);
      await polite.subscribed;
      // -C 1: it says DISCONNECT by itself after one message (its SIGTERM handler can deadlock)
      await mosquittoPub([...anon, "-t", "lab/x", "-m", "bye"]);
      expect(await polite.finished()).toBe(0);
      // the marker: the broker read the polite client's DISCONNECT and close before this later
      // client's CONNECT, so a will would be out before this message
      await mosquittoPub([...anon, "-q", "1", "-t", "lab/status/later", "-m", "x"]);
      await watcher.waitForMessages(2);
      expect(watcher.messages.map((m) => m.topic)).toEqual(["lab/status/dying", "lab/status/later"]);
    } finally {
      await watcher.kill();
      await dying.kill();
    }
  });

  it("queues QoS 1 messages for an offline persistent session and delivers them on reconnect", async () => {
    const session = [...anon, "-c", "-i", "lab-persistent", "-q", "1", "-t", "lab/queue"];
    const first = mosquittoSub(session);
    await first.subscribed;
    await first.kill();
    for (const n of [1, 2, 3]) await mosquittoPub([...anon, "-q", "1", "-t", "lab/queue", "-m", `job-${n}`]);
    const back = mosquittoSub([...session, "-C", "3"]);
    const got = await back.waitForMessages(3);
    await back.finished();
    expect(got.map((m) => [m.payload, m.qos])).toEqual([
      ["job-1", 1],
      ["job-2", 1],
      ["job-3", 1],
    ]);
    // a clean session starts empty and leaves nothing behind [MQTT-3.1.2-6]
    const clean = mosquittoSub([...anon, "-i", "lab-persistent", "-q", "1", "-t", "lab/other"]);
    await clean.listenFor(1_000);
    expect(clean.messages).toEqual([]);
  });

  it("delivers a message matching overlapping subscriptions at the highest granted QoS [MQTT-3.3.5-1]", async () => {
    const client = await mqtt.connectAsync(p.mqttUrl, { clientId: "lab-overlap", reconnectPeriod: 0 });
    try {
      const received: [string, number][] = [];
      client.on("message", (topic, _p, packet) => received.push([topic, packet.qos]));
      await client.subscribeAsync({
        "lab/over/#": { qos: 0 },
        "lab/over/x": { qos: 1 },
        "lab/+/y": { qos: 1 },
      });
      // an exact and a wildcard filter; two wildcard filters; each publish at QoS 2 (capped by the grant)
      for (const topic of ["lab/over/x", "lab/over/y"]) {
        await mosquittoPub([...anon, "-q", "2", "-t", topic, "-m", "both"]);
      }
      // the marker: a later message for the wildcard filter alone; a second copy of either publish
      // would be delivered before it
      await mosquittoPub([...anon, "-q", "1", "-t", "lab/over/z", "-m", "later"]);
      await waitFor(
        async () => received.length,
        (n) => n >= 3,
        { timeoutMs: 5000, what: "the overlapping deliveries and the later one" },
      );
      expect(received).toEqual([
        ["lab/over/x", 1],
        ["lab/over/y", 1],
        ["lab/over/z", 0],
      ]);
    } finally {
      await client.endAsync();
    }
  });

  it("refuses a zero-length client id with clean session 0: CONNACK 0x02 [MQTT-3.1.3-8]", async () => {
    const connack = await exchange(broker.port, CONNECT_EMPTY_ID_CLEAN_0);
    expect([...connack]).toEqual([0x20, 0x02, 0x00, 0x02]);
    // mosquitto's own clients will not even send it
    const r = await mosquittoPub([...anon, "-c", "-i", "", "-t", "lab/x", "-m", "x"]);
    expect(r.code).not.toBe(0);
  });

  it("keeps anonymous clients out of the fleet's topics", async () => {
    const client = await mqtt.connectAsync(p.mqttUrl, { reconnectPeriod: 0 });
    try {
      const granted = await client
        .subscribeAsync(["fleet/#", "owntracks/#", "356307042441013/data", "$SYS/#", "lab/#"], {
          qos: 1,
        })
        .then(
          () => undefined,
          (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
        );
      expect(granted).toEqual([128, 128, 128, 128, 1]);
    } finally {
      await client.endAsync();
    }
    // `#` and `+/…` are granted, as on a plain broker (MQTT 3.1.1 clients expect them), but carry
    // no message of the fleet's: a device's error notice is published on fleet/{id}/errors
    const van = await addVehicle(p.pool, { id: "conf-anon-van" });
    const wildcard = await mqtt.connectAsync(p.mqttUrl, { reconnectPeriod: 0 });
    try {
      const received: string[] = [];
      wildcard.on("message", (topic) => received.push(topic));
      const subscribed = await wildcard.subscribeAsync({ "#": { qos: 1 }, "+/+/errors": { qos: 1 } });
      expect(subscribed.map((s) => s.qos)).toEqual([1, 1]);
      const device = await p.connect(van);
      await device.subscribeAsync(`fleet/${van.id}/errors`, { qos: 1 });
      const notices: string[] = [];
      device.on("message", (topic) => notices.push(topic));
      await device.publishAsync(`fleet/${van.id}/location`, "not json", { qos: 1 });
      await waitFor(
        async () => notices.length,
        (n) => n >= 1,
        { timeoutMs: 5000, what: "the device's error notice" },
      );
      // the marker: published after the notice, delivered to `#` after anything the notice would be
      await mosquittoPub([...anon, "-q", "1", "-t", "lab/after-notice", "-m", "x"]);
      await waitFor(
        async () => received.includes("lab/after-notice"),
        (ok) => ok,
        { timeoutMs: 5000, what: "the marker on #" },
      );
      expect(received).toEqual(["lab/after-notice"]);
    } finally {
      await wildcard.endAsync();
    }
    for (const topic of ["fleet/x/location", "owntracks/x/phone", "356307042441013/data"]) {
      const r = await mosquittoPub([...anon, "-q", "1", "-t", topic, "-m", "{}"]);
      expect(r.code, topic).not.toBe(0);
    }
  });
});

describe("MQTT 3.1.1 semantics on the fleet's downlink topics", () => {
  let p: TestPlatform;
  let api: ProtocolApi;
  let van: DeviceCredentials;

  beforeAll(async () => {
    p = await startPlatform();
    api = await startProtocolApi(p);
    van = await addVehicle(p.pool, { id: "conf-van" });
  });
  afterAll(async () => {
    await api?.close();
    await p?.close();
  });

  const send = (payload: unknown) =>
    api.app.inject({
      method: "POST",
      url: `/api/vehicles/${van.id}/commands`,
      headers: api.admin,
      payload: { payload },
    });

  it("delivers a command to an integration's overlapping subscriptions at the highest QoS", async () => {
    const dashboard = await addIntegration(p.pool, "conf-dashboard");
    const client = await p.connect(dashboard, { clientId: `${dashboard.username}:conf` });
    const received: { topic: string; qos: number }[] = [];
    client.on("message", (topic, _p, packet) => received.push({ topic, qos: packet.qos }));
    await client.subscribeAsync({ "fleet/#": { qos: 0 }, [`fleet/${van.id}/commands`]: { qos: 1 } });
    expect((await send({ ping: 1 })).statusCode).toBe(202);
    await waitFor(
      async () => received.length,
      (n) => n >= 1,
      { timeoutMs: 5000, what: "the command on the dashboard" },
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(Math.max(...received.map((m) => m.qos))).toBe(1);
  });

  it("keeps a command for a device's persistent session across a reconnect, with the device's own mqtt.js", async () => {
    const opts = { clientId: `${van.id}:modem`, clean: false };
    const first = await p.connect(van, opts);
    await first.subscribeAsync(`fleet/${van.id}/commands`, { qos: 1 });
    await first.endAsync();
    const created = (await send({ action: "lock" })).json();
    // the queued command follows the CONNACK at once, often in the same TCP read: listen before
    // connecting, or mqtt.js emits it before a listener added after connectAsync exists
    const back = mqtt.connect(p.mqttUrl, {
      username: van.username,
      password: van.password,
      reconnectPeriod: 0,
      ...opts,
    });
    try {
      // earlier commands to this van that no device acknowledged may arrive first
      const msg = await new Promise<unknown>((resolve, reject) => {
        back.on("message", (_t, payload) => {
          const m = JSON.parse(payload.toString());
          if (m.commandId === created.id) resolve(m);
        });
        back.once("error", reject);
      });
      expect(msg).toEqual({ commandId: created.id, payload: { action: "lock" } });
    } finally {
      await back.endAsync();
    }
  });

  it("refuses a device's zero-length client id with clean session 0 before looking at its credentials", async () => {
    const connack = await exchange(p.broker.ports.mqtt, CONNECT_EMPTY_ID_CLEAN_0);
    expect([...connack]).toEqual([0x20, 0x02, 0x00, 0x02]);
    // the same bytes with the device's credentials make no difference: the id is refused first
    const r = await mosquittoPub([
      ...connectArgs({ host: "127.0.0.1", port: p.broker.ports.mqtt }, van),
      "-c",
      "-i",
      "",
      "-t",
      `fleet/${van.id}/location`,
      "-m",
      "x",
    ]);
    expect(r.code).not.toBe(0);
  });
});
