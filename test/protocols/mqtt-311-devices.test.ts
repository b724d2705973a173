import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addIntegration, addVehicle, type DeviceCredentials } from "../../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";
import { type ProtocolApi, startProtocolApi } from "./api.ts";
import { connectPacket, type Opened, open, raw, received } from "./mqtt-311.ts";

// The MQTT 3.1.1 packet flows of mqtt-311-conformance.test.ts where they apply to the fleet's own
// topics, with authentication on (the default): a device's commands, fixes and client ids.
describe("MQTT 3.1.1 conformance on a device's topics", () => {
  let p: TestPlatform;
  let api: ProtocolApi;
  let van: DeviceCredentials;
  const opened: Opened[] = [];
  const device = async (opts: Parameters<typeof open>[1] = {}) => {
    const o = await open(p.mqttUrl, { username: van.username, password: van.password, ...opts });
    opened.push(o);
    return o;
  };
  const send = async (payload: unknown): Promise<string> => {
    const res = await api.app.inject({
      method: "POST",
      url: `/api/vehicles/${van.id}/commands`,
      headers: api.admin,
      payload: { payload },
    });
    expect(res.statusCode).toBe(202);
    return res.json().id;
  };
  const commandIds = (o: Opened) =>
    o.messages
      .filter((m) => m.topic === `fleet/${van.id}/commands`)
      .map((m) => JSON.parse(m.payload).commandId);

  beforeAll(async () => {
    p = await startPlatform();
    api = await startProtocolApi(p);
    van = await addVehicle(p.pool, { id: "conf311-van" });
  });
  afterAll(async () => {
    await Promise.all(opened.map((o) => o.client.endAsync(true)));
    await api?.close();
    await p?.close();
  });

  it("queues a command for a device's offline session: session present, the command arrives once [MQTT-3.1.2-5]", async () => {
    const session = { clientId: `${van.id}:modem`, clean: false };
    const first = await device(session);
    await first.client.subscribeAsync(`fleet/${van.id}/commands`, { qos: 1 });
    await first.client.endAsync();
    const queued = await send({ action: "lock" });
    const back = await device(session);
    expect(back.connack.sessionPresent).toBe(true);
    await waitFor(
      async () => commandIds(back).includes(queued),
      (ok) => ok,
      { timeoutMs: 10_000, what: "the queued command" },
    );
    // the marker: a command sent now; a second copy of the queued one would come before it
    const later = await send({ action: "unlock" });
    await waitFor(
      async () => commandIds(back).includes(later),
      (ok) => ok,
      { timeoutMs: 10_000, what: "the later command" },
    );
    expect(commandIds(back)).toEqual([queued, later]);
    expect(back.messages.map((m) => m.qos)).toEqual([1, 1]);
  });

  it("sends no more commands once the device's UNSUBACK is in [MQTT-3.10.4-6]", async () => {
    const dashboard = await addIntegration(p.pool, "conf311-dashboard");
    const watcher = await open(p.mqttUrl, {
      username: dashboard.username,
      password: dashboard.password,
      clientId: `${dashboard.username}:watch`,
    });
    opened.push(watcher);
    await watcher.client.subscribeAsync(`fleet/${van.id}/commands`, { qos: 1 });
    const modem = await device({ clientId: `${van.id}:unsub` });
    await modem.client.subscribeAsync({
      [`fleet/${van.id}/commands`]: { qos: 1 },
      [`fleet/${van.id}/errors`]: { qos: 1 },
    });
    await modem.client.unsubscribeAsync(`fleet/${van.id}/commands`);
    const id = await send({ action: "honk" });
    // published: the dashboard has it
    await waitFor(
      async () => commandIds(watcher).includes(id),
      (ok) => ok,
      { timeoutMs: 10_000, what: "the command on the dashboard" },
    );
    // the marker: the refusal notice of a bad fix, on a topic the device is still subscribed to
    await modem.client.publishAsync(`fleet/${van.id}/location`, "not json", { qos: 1 });
    await received(modem.messages, `fleet/${van.id}/errors`, "the error notice");
    // an earlier test's command still pending is sent again when the device subscribes, and may
    // arrive before the UNSUBACK: the command published after it must not
    expect(commandIds(modem)).not.toContain(id);
    expect(modem.messages.filter((m) => m.topic === `fleet/${van.id}/errors`)).toHaveLength(1);
  });

  it("takes a device's fix at QoS 2 with the full handshake, stored once [MQTT-4.3.3]", async () => {
    const before = await p.rowCount();
    const modem = await device({ clientId: `${van.id}:qos2` });
    const recordedAt = Date.now() - 60_000;
    const fix = { lat: 52.52, lng: 13.405, recordedAt };
    await modem.client.publishAsync(`fleet/${van.id}/location`, JSON.stringify(fix), { qos: 2 });
    expect(modem.flow.filter((f) => /pubrec|pubrel|pubcomp/.test(f))).toEqual([
      "recv:pubrec",
      "send:pubrel",
      "recv:pubcomp",
    ]);
    await waitFor(
      () => p.rowCount(),
      (n) => n >= before + 1,
      { timeoutMs: 30_000, what: "the fix in the database" },
    );
    // the marker: a later fix; the QoS 2 one stored twice would count before it
    await modem.client.publishAsync(
      `fleet/${van.id}/location`,
      JSON.stringify({ ...fix, recordedAt: recordedAt + 1000 }),
      { qos: 1 },
    );
    expect(
      await waitFor(
        () => p.rowCount(),
        (n) => n >= before + 2,
        { timeoutMs: 30_000 },
      ),
    ).toBe(before + 2);
  });

  it("gives a device with an empty client id and clean session 1 a session, and refuses clean session 0 [MQTT-3.1.3-7, -8]", async () => {
    const assigned = await device({ clientId: "", clean: true });
    await assigned.client.subscribeAsync(`fleet/${van.id}/errors`, { qos: 1 });
    await assigned.client.publishAsync(`fleet/${van.id}/location`, "not json", { qos: 1 });
    await received(assigned.messages, `fleet/${van.id}/errors`, "the error notice");
    const persistent = raw(
      p.broker.ports.mqtt,
      connectPacket({
        clientId: "",
        clean: false,
        keepalive: 60,
        username: van.username,
        password: van.password,
      }),
    );
    expect([...(await persistent.connack)]).toEqual([0x20, 0x02, 0x00, 0x02]);
    await persistent.closed;
  });
});
