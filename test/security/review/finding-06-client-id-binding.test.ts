import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { createCommand } from "../../../core/commands.ts";
import { publishControl } from "../../../core/control.ts";
import { addIntegration, addVehicle } from "../../../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "../../support/platform.ts";
import { waitFor } from "../../support/wait.ts";

// Security review, finding 6 (docs/security.md): a client id names its account (core/client-id.ts).
// Before, device B connecting with A's client id closed A's connection and, with clean session
// off, took A's session and the commands queued in it.
describe("finding 6: an MQTT client id is bound to the credential that uses it", () => {
  let p: TestPlatform | undefined;
  const clients: MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
    await p?.close();
    p = undefined;
  });

  interface Connected {
    client?: MqttClient;
    code?: number;
    sessionPresent?: boolean;
    /** messages received from the start (a queued command can come in the CONNACK's TCP read) */
    messages: { topic: string; payload: string }[];
  }

  /** Connects; resolves with the client, or with the CONNACK return code of the refusal. */
  async function connect(platform: TestPlatform, opts: IClientOptions): Promise<Connected> {
    return new Promise((resolve) => {
      const c = mqtt.connect(platform.mqttUrl, { reconnectPeriod: 0, connectTimeout: 10_000, ...opts });
      clients.push(c);
      const messages: Connected["messages"] = [];
      c.on("message", (topic, payload) => messages.push({ topic, payload: payload.toString() }));
      c.once("connect", (connack) =>
        resolve({ client: c, sessionPresent: connack.sessionPresent, messages }),
      );
      c.once("error", (err: Error & { code?: number }) => {
        c.end(true);
        resolve({ code: err.code ?? -1, messages });
      });
    });
  }

  it("finding 6: B using A's client id gets CONNACK 2; A stays connected and keeps its queued command", async () => {
    p = await startPlatform();
    const platform = p;
    const a = await addVehicle(p.pool, { id: "cid-a" });
    const b = await addVehicle(p.pool, { id: "cid-b" });
    const commandsOfA = `fleet/${a.id}/commands`;
    const aId = `${a.id}:modem`;

    // A opens a persistent session subscribed to its commands, and goes offline
    const first = await connect(p, {
      username: a.username,
      password: a.password,
      clientId: aId,
      clean: false,
    });
    await first.client?.subscribeAsync(commandsOfA, { qos: 1 });
    await first.client?.endAsync();
    // a command is queued in A's offline session (as the API sends it)
    const row = await createCommand(p.pool, a.id, { action: "unlock" });
    await publishControl(p.redis, {
      type: "command",
      vehicleId: a.id,
      commandId: row?.id as string,
      payload: row?.payload,
    });
    await waitFor(
      async () => (await platform.pool.query("SELECT 1 FROM commands WHERE id = $1", [row?.id])).rowCount,
      (n) => n === 1,
      { what: "the command stored" },
    );
    await new Promise((r) => setTimeout(r, 300)); // the control message reaches the broker

    // B, with valid credentials of its own, tries A's ids: refused before any session is touched
    for (const clientId of [aId, a.id]) {
      const stolen = await connect(p, { username: b.username, password: b.password, clientId, clean: false });
      expect(stolen.code, `B as ${clientId}`).toBe(2);
    }

    // A comes back to its session, present, and the queued command is still there
    const back = await connect(p, {
      username: a.username,
      password: a.password,
      clientId: aId,
      clean: false,
    });
    expect(back.sessionPresent).toBe(true);
    const [command] = await waitFor(
      async () => back.messages.filter((m) => m.topic === commandsOfA),
      (m) => m.length > 0,
      { timeoutMs: 10_000, what: "A's queued command" },
    );
    expect(JSON.parse(command?.payload ?? "")).toMatchObject({
      commandId: row?.id,
      payload: { action: "unlock" },
    });

    // while A is connected, B's attempt does not close A's connection
    const again = await connect(p, { username: b.username, password: b.password, clientId: aId });
    expect(again.code).toBe(2);
    await back.client?.publishAsync(
      commandsOfA.concat("/ack"),
      JSON.stringify({ commandId: row?.id, status: "ok" }),
      {
        qos: 1,
      },
    );
    expect(back.client?.connected).toBe(true);
    expect(p.broker.limits.refusals.client_id).toBe(3);
  });

  it("finding 6: ids that name the account are accepted: the vehicle id, `id:` anything, the IMEI, an empty id", async () => {
    p = await startPlatform();
    const v = await addVehicle(p.pool, { id: "cid-ok", imei: "356307042441013" });
    const dash = await addIntegration(p.pool, "cid-dash");
    for (const clientId of [
      v.id,
      `${v.id}:modem`,
      `${v.id}:a:b`,
      "356307042441013",
      "356307042441013:x",
      "",
    ]) {
      const r = await connect(p, { username: v.username, password: v.password, clientId });
      expect(r.code, JSON.stringify(clientId)).toBeUndefined();
      await r.client?.endAsync();
    }
    // a prefix that is not followed by ':' names another account ("cid-ok-2" could be a vehicle)
    for (const clientId of [`${v.id}-2`, `${v.id}2`, "mqttjs_1234", `${dash.username}:x`]) {
      const r = await connect(p, { username: v.username, password: v.password, clientId });
      expect(r.code, clientId).toBe(2);
    }
    // an integration account is bound to its name the same way
    expect((await connect(p, { ...dash, clientId: `${dash.username}:ui` })).code).toBeUndefined();
    expect((await connect(p, { ...dash, clientId: `${v.id}:modem` })).code).toBe(2);
  });

  it("finding 6: with MQTT_ALLOW_ANONYMOUS, an anonymous client cannot use a registered account's client id", async () => {
    p = await startPlatform({ env: { MQTT_ALLOW_ANONYMOUS: "true" } });
    const v = await addVehicle(p.pool, { id: "cid-anon" });
    expect((await connect(p, { clientId: `${v.id}:modem` })).code).toBe(2);
    expect((await connect(p, { clientId: v.id })).code).toBe(2);
    expect((await connect(p, { clientId: "lab-client" })).code).toBeUndefined();
  });
  it("with MQTT_ALLOW_ANONYMOUS, an anonymous client cannot use a device's IMEI: no session takeover, no kick", async () => {
    p = await startPlatform({ env: { MQTT_ALLOW_ANONYMOUS: "true" } });
    const platform = p;
    const imei = "356307042441013";
    const v = await addVehicle(p.pool, { id: "cid-imei", imei });
    const commands = `fleet/${v.id}/commands`;
    const device = { username: v.username, password: v.password, clientId: imei, clean: false };
    const first = await connect(p, device);
    await first.client?.subscribeAsync(commands, { qos: 1 });
    await first.client?.endAsync();
    const row = await createCommand(p.pool, v.id, { action: "lock" });
    await publishControl(p.redis, {
      type: "command",
      vehicleId: v.id,
      commandId: row?.id as string,
      payload: row?.payload,
    });
    await waitFor(
      async () => (await platform.pool.query("SELECT 1 FROM commands WHERE id = $1", [row?.id])).rowCount,
      (n) => n === 1,
      { what: "the command stored" },
    );
    await new Promise((r) => setTimeout(r, 300)); // the control message reaches the broker

    // the persistent session: an anonymous client with the IMEI (alone or with a suffix) is refused
    for (const clientId of [imei, `${imei}:x`]) {
      const stolen = await connect(p, { clientId, clean: false });
      expect(stolen.code, `anonymous as ${clientId}`).toBe(2);
    }
    const back = await connect(p, device);
    expect(back.sessionPresent).toBe(true);
    await waitFor(
      async () => back.messages.filter((m) => m.topic === commands),
      (m) => m.length > 0,
      { timeoutMs: 10_000, what: "the device's queued command" },
    );
    // the device online: the anonymous attempt does not kick it
    expect((await connect(p, { clientId: imei })).code).toBe(2);
    expect(back.client?.connected).toBe(true);
    // a round trip on the device's connection: a kick would have closed it before the PUBACK
    await back.client?.publishAsync(`${commands}/ack`, JSON.stringify({ commandId: row?.id, status: "ok" }), {
      qos: 1,
    });
    expect(back.client?.connected).toBe(true);
    // an IMEI nobody registered stays usable in the open development mode
    expect((await connect(p, { clientId: "356307049999999" })).code).toBeUndefined();
  });
});
