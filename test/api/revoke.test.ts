import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlChannel } from "../../core/control.ts";
import { channelOf, createRedis } from "../../core/redis.ts";
import { withClientId } from "../support/client-id.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";
import { type ApiHarness, startApi } from "./harness.ts";

describe("credential rotation and removal end the live MQTT session", () => {
  let p: TestPlatform;
  let h: ApiHarness;
  let admin: { authorization: string };

  beforeAll(async () => {
    p = await startPlatform({ worker: false });
    h = await startApi({ platform: p });
    admin = h.bearer(h.adminToken);
  });
  afterAll(async () => {
    await h?.close();
    await p?.close();
  });

  async function register(id: string): Promise<string> {
    const res = await h.app.inject({ method: "POST", url: "/api/vehicles", headers: admin, payload: { id } });
    return res.json().credentials.password;
  }
  const connectFails = (username: string, password: string) =>
    mqtt
      .connectAsync(
        p.mqttUrl,
        withClientId({ username, password, reconnectPeriod: 0, connectTimeout: 10_000 }),
      )
      .then(
        async (c) => {
          await c.endAsync(true);
          return false;
        },
        (err: Error) => /Bad username or password|Not authorized/i.test(err.message),
      );

  it("rotating disconnects the connected client; the old password then fails and the new one works", async () => {
    const old = await register("rev-rot");
    const client = await p.connect({ username: "rev-rot", password: old });
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    await client.publishAsync(
      "fleet/rev-rot/location",
      JSON.stringify({ lat: 1, lng: 1, recordedAt: Date.now() }),
      {
        qos: 1,
      },
    );

    const res = await h.app.inject({
      method: "POST",
      url: "/api/vehicles/rev-rot/credentials",
      headers: admin,
    });
    expect(res.statusCode).toBe(200);
    await closed;
    expect(client.connected).toBe(false);

    expect(await connectFails("rev-rot", old)).toBe(true);
    const fresh = await p.connect({ username: "rev-rot", password: res.json().credentials.password });
    expect(fresh.connected).toBe(true);
    await fresh.endAsync();
  });

  it("deleting disconnects the connected client, and it cannot come back", async () => {
    const pw = await register("rev-del");
    const client = await p.connect({ username: "rev-del", password: pw });
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    expect(
      (await h.app.inject({ method: "DELETE", url: "/api/vehicles/rev-del", headers: admin })).statusCode,
    ).toBe(204);
    await closed;
    expect(await connectFails("rev-del", pw)).toBe(true);
  });

  it("setting a vehicle inactive disconnects it, and it cannot come back until active again", async () => {
    const pw = await register("rev-off");
    const client = await p.connect({ username: "rev-off", password: pw });
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    const patch = (status: string, version: string) =>
      h.app.inject({
        method: "PATCH",
        url: "/api/vehicles/rev-off",
        headers: { ...admin, "if-match": version },
        payload: { status },
      });
    expect((await patch("inactive", "1")).statusCode).toBe(200);
    await closed;
    expect(await connectFails("rev-off", pw)).toBe(true);
    // re-activation tells the brokers to drop their cached refusal (a revoke), so the device
    // need not wait for the negative cache entry to lapse; active <-> maintenance leaves it alone
    const control = createRedis(p.config.REDIS_URL);
    const seen: { type: string; vehicleId: string }[] = [];
    control.on("message", (_channel, msg) => seen.push(JSON.parse(msg)));
    await control.subscribe(channelOf(control, controlChannel));
    const revokes = (id: string) => seen.filter((m) => m.vehicleId === id).length;
    try {
      expect((await patch("active", "2")).statusCode).toBe(200);
      await waitFor(
        async () => revokes("rev-off"),
        (n) => n === 1,
        { what: "the revoke on re-activation" },
      );
      await waitFor(
        () => connectFails("rev-off", pw),
        (failed) => !failed,
        { what: "the device back" },
      );

      expect((await patch("maintenance", "3")).statusCode).toBe(200);
      // a marker through the same publisher connection: pub/sub keeps its order, so once the
      // marker is here, a revoke sent for the maintenance change would be here too
      await register("rev-marker");
      await h.app.inject({ method: "POST", url: "/api/vehicles/rev-marker/credentials", headers: admin });
      await waitFor(
        async () => revokes("rev-marker"),
        (n) => n === 1,
        { what: "the marker" },
      );
      expect(revokes("rev-off")).toBe(1);
    } finally {
      control.disconnect();
    }
  });
});
