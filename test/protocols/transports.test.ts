import { readFileSync } from "node:fs";
import mqtt, { type IClientOptions } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addVehicle } from "../../core/vehicles.ts";
import { withClientId } from "../support/client-id.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import {
  type Broker,
  connectArgs,
  mosquittoPub,
  selfSignedCert,
  storedFixes,
  waitForFixes,
} from "./clients.ts";

/** Connects with mqtt.js; resolves with the client or with the connection error. */
function tryConnect(url: string, opts: IClientOptions) {
  return mqtt.connectAsync(url, withClientId({ reconnectPeriod: 0, connectTimeout: 5000, ...opts })).then(
    (client) => ({ client, error: undefined }),
    (error: Error & { code?: number }) => ({ client: undefined, error }),
  );
}

describe("transports and protocol versions: same auth, same ACL", () => {
  let p: TestPlatform;
  let cert: ReturnType<typeof selfSignedCert>;
  const at = Date.now() - 60_000;
  let n = 0;
  const fix = () =>
    JSON.stringify({ lat: 25.2 + n / 1000, lng: 55.3, recordedAt: at + n++ * 1000, speed: 10 });

  beforeAll(async () => {
    cert = selfSignedCert();
    p = await startPlatform({
      env: { MQTT_TLS_PORT: "0", MQTT_TLS_CERT: cert.cert, MQTT_TLS_KEY: cert.key },
    });
  });
  afterAll(async () => {
    await p?.close();
    cert?.remove();
  });

  const vehicle = (id: string) => addVehicle(p.pool, { id });

  it("stores a native fix sent over WebSocket (mqtt.js ws://) and disconnects a foreign topic there too", async () => {
    const v = await vehicle("ws-van");
    const url = `ws://127.0.0.1:${p.broker.ports.ws}/mqtt`;
    const { client } = await tryConnect(url, { username: v.username, password: v.password });
    if (!client) throw new Error("no WebSocket connection");
    await client.publishAsync(`fleet/${v.id}/location`, fix(), { qos: 1 });
    const [row] = await waitForFixes(p.pool, v.id, 1);
    expect(row).toMatchObject({ lat: expect.closeTo(25.2, 3), lng: 55.3, speed: 10 });
    const closed = new Promise<void>((r) => client.once("close", () => r()));
    client.publish("fleet/someone-else/location", fix(), { qos: 1 });
    await closed;
    const wrong = await tryConnect(url, { username: v.username, password: "wrong" });
    expect(wrong.error?.code).toBe(4);
  });

  it("stores a native fix sent over TLS by mosquitto_pub and by mqtt.js (self-signed certificate)", async () => {
    const v = await vehicle("tls-van");
    const tls: Broker = { host: "127.0.0.1", port: p.broker.ports.tls as number };
    const r = await mosquittoPub([
      ...connectArgs(tls, v),
      "--cafile",
      cert.cert,
      "-q",
      "1",
      "-t",
      `fleet/${v.id}/location`,
      "-m",
      fix(),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const { client } = await tryConnect(`mqtts://127.0.0.1:${tls.port}`, {
      username: v.username,
      password: v.password,
      ca: readFileSync(cert.cert),
    });
    if (!client) throw new Error("no TLS connection");
    await client.publishAsync(`fleet/${v.id}/location`, fix(), { qos: 1 });
    await client.endAsync();
    expect(await waitForFixes(p.pool, v.id, 2)).toHaveLength(2);

    const wrong = await mosquittoPub([
      ...connectArgs(tls, { username: v.username, password: "wrong" }),
      "--cafile",
      cert.cert,
      "-q",
      "1",
      "-t",
      `fleet/${v.id}/location`,
      "-m",
      fix(),
    ]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/not authori[sz]ed|bad user name or password/i);
    // a client that does not trust the certificate does not get in
    const untrusted = await tryConnect(`mqtts://127.0.0.1:${tls.port}`, {
      username: v.username,
      password: v.password,
    });
    expect(untrusted.error?.message).toMatch(/self.signed/i);
  });

  it("accepts MQTT 3.1 (MQIsdp) from mosquitto_pub and mqtt.js", async () => {
    const v = await vehicle("v31-van");
    const broker: Broker = { host: "127.0.0.1", port: p.broker.ports.mqtt };
    const r = await mosquittoPub([
      ...connectArgs(broker, v),
      // MQTT 3.1 has no empty client id: mosquitto_pub would make one up, naming no account
      "-i",
      v.id,
      "-V",
      "mqttv31",
      "-q",
      "1",
      "-t",
      `fleet/${v.id}/location`,
      "-m",
      fix(),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const { client } = await tryConnect(p.mqttUrl, {
      username: v.username,
      password: v.password,
      protocolId: "MQIsdp",
      protocolVersion: 3,
    });
    if (!client) throw new Error("no MQTT 3.1 connection");
    await client.publishAsync(`fleet/${v.id}/location`, fix(), { qos: 1 });
    await client.endAsync();
    expect(await waitForFixes(p.pool, v.id, 2)).toHaveLength(2);
  });

  it("refuses MQTT 5 with CONNACK 'unacceptable protocol version', which both clients report clearly", async () => {
    const v = await vehicle("v5-van");
    const { error } = await tryConnect(p.mqttUrl, {
      username: v.username,
      password: v.password,
      protocolVersion: 5,
    });
    expect(error?.code).toBe(1);
    expect(error?.message).toBe("Connection refused: Unacceptable protocol version");
    const broker: Broker = { host: "127.0.0.1", port: p.broker.ports.mqtt };
    const r = await mosquittoPub([
      ...connectArgs(broker, v),
      "-V",
      "mqttv5",
      "-q",
      "1",
      "-t",
      `fleet/${v.id}/location`,
      "-m",
      fix(),
    ]);
    // libmosquitto 2.0 reads the 3.1.1 CONNACK code 1 as MQTT 5's 0x84 (exit status 132)
    expect(r.code).toBe(0x84);
    expect(r.stderr).toContain("Connection error: Unsupported Protocol Version");
    expect(await storedFixes(p.pool, v.id)).toEqual([]);
  });
});
