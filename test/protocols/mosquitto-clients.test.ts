import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisKeys } from "../../core/redis.ts";
import { addVehicle, type DeviceCredentials } from "../../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { storeSentinel } from "../support/sentinel.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { type ProtocolApi, startProtocolApi } from "./api.ts";
import { type Broker, connectArgs, mosquittoPub, mosquittoSub, waitForFixes } from "./clients.ts";

const IMEI = "356307042441013";

describe("a device using Debian's mosquitto_pub and mosquitto_sub", () => {
  let p: TestPlatform;
  let api: ProtocolApi;
  let truck: DeviceCredentials;
  let broker: Broker;
  let device: string[];

  beforeAll(async () => {
    p = await startPlatform();
    api = await startProtocolApi(p);
    truck = await addVehicle(p.pool, { id: "mq-truck", imei: IMEI });
    broker = { host: "127.0.0.1", port: p.broker.ports.mqtt };
    device = connectArgs(broker, truck);
  });
  afterAll(async () => {
    await api?.close();
    await p?.close();
  });

  it("publishes a native fix, an OwnTracks location and a Teltonika record, each stored in PostGIS", async () => {
    const t = Math.floor(Date.now() / 1000) - 600; // whole seconds: OwnTracks' tst has no finer unit
    const sent = [
      {
        topic: `fleet/${truck.id}/location`,
        payload: {
          lat: 25.204849,
          lng: 55.270782,
          recordedAt: new Date(t * 1000).toISOString(),
          speed: 42.5,
        },
      },
      {
        topic: `owntracks/${truck.id}/phone`,
        payload: {
          _type: "location",
          lat: 25.1972,
          lon: 55.2744,
          tst: t + 60,
          vel: 38,
          cog: 91,
          acc: 5,
          batt: 80,
        },
      },
      {
        topic: `${IMEI}/data`,
        payload: {
          state: {
            reported: {
              ts: (t + 120) * 1000,
              pr: 0,
              latlng: "-33.868820,151.209296",
              alt: "12",
              ang: "275",
              sat: "14",
              sp: "54",
              evt: "0",
              "239": "1",
              "16": "1234567",
            },
          },
        },
      },
    ];
    for (const m of sent) {
      const r = await mosquittoPub([...device, "-q", "1", "-t", m.topic, "-m", JSON.stringify(m.payload)]);
      expect(r.code, r.stderr).toBe(0);
    }
    const rows = await waitForFixes(p.pool, truck.id, 3);
    expect(rows).toEqual([
      expect.objectContaining({ lat: 25.204849, lng: 55.270782, recordedAt: t * 1000, speed: 42.5 }),
      expect.objectContaining({
        lat: 25.1972,
        lng: 55.2744,
        recordedAt: (t + 60) * 1000,
        speed: 38,
        heading: 91,
      }),
      expect.objectContaining({
        lat: -33.86882,
        lng: 151.209296,
        recordedAt: (t + 120) * 1000,
        speed: 54,
        heading: 275,
        altitude: 12,
        ignition: true,
        odometer: 1234.567,
      }),
    ]);
  });

  it("hears its own rejection reasons on fleet/{id}/errors", async () => {
    const errors = mosquittoSub([...device, "-q", "1", "-t", `fleet/${truck.id}/errors`]);
    try {
      await errors.subscribed;
      const noFix = { state: { reported: { ts: Date.now(), latlng: "0.000000,0.000000", sp: "0" } } };
      for (const [topic, payload] of [
        [`${IMEI}/data`, JSON.stringify(noFix)],
        [`fleet/${truck.id}/location`, '{"lat":25.2,"lng":'],
        [
          `owntracks/${truck.id}/phone`,
          JSON.stringify({ _type: "location", lat: 25.2, lon: 55.3, tst: Date.now() }),
        ],
      ] as const) {
        const r = await mosquittoPub([...device, "-q", "1", "-t", topic, "-m", payload]);
        expect(r.code, r.stderr).toBe(0);
      }
      const got = await errors.waitForMessages(3);
      expect(got.map((m) => m.topic)).toEqual(Array(3).fill(`fleet/${truck.id}/errors`));
      expect(got.map((m) => JSON.parse(m.payload))).toEqual([
        expect.objectContaining({ reason: "E_NO_FIX", topic: `${IMEI}/data` }),
        expect.objectContaining({ reason: "E_BAD_JSON", topic: `fleet/${truck.id}/location` }),
        expect.objectContaining({
          reason: "E_OUT_OF_RANGE",
          detail: expect.stringContaining("milliseconds"),
        }),
      ]);
    } finally {
      await errors.kill();
    }
  });

  it("gets its OwnTracks will (lwt) acknowledged and ignored: not stored, not an error", async () => {
    const ignored = async () => Number((await p.redis.hget(redisKeys.metrics, "bridge_ignored")) ?? 0);
    const before = await ignored();
    const lwt = JSON.stringify({ _type: "lwt", tst: Math.floor(Date.now() / 1000) });
    const phone = mosquittoSub([
      ...device,
      "--will-topic",
      `owntracks/${truck.id}/phone`,
      "--will-payload",
      lwt,
      "--will-qos",
      "1",
      "-t",
      `fleet/${truck.id}/events`,
    ]);
    await phone.subscribed;
    await phone.kill("SIGKILL"); // no DISCONNECT: the broker publishes the will
    await waitFor(ignored, (n) => n > before, { timeoutMs: 30_000, what: "the lwt counted as ignored" });
    await storeSentinel(p, await addVehicle(p.pool, { id: "mq-sentinel" }));
    const stored = await p.pool.query(
      "SELECT count(*)::int AS n FROM rejected_messages WHERE vehicle_id = $1 AND payload LIKE '%lwt%'",
      [truck.id],
    );
    expect(stored.rows[0].n).toBe(0);
  });

  it("receives a command queued in its persistent session, and its answer changes the command's status", async () => {
    const session = [
      ...device,
      "-c",
      "-i",
      `${truck.id}:modem`,
      "-q",
      "1",
      "-t",
      `fleet/${truck.id}/commands`,
    ];
    // the device subscribes once with clean session 0, then goes offline
    const first = mosquittoSub(session);
    await first.subscribed;
    await first.kill();

    const created = await api.app.inject({
      method: "POST",
      url: `/api/vehicles/${truck.id}/commands`,
      headers: api.admin,
      payload: { payload: { action: "setInterval", seconds: 30 } },
    });
    expect(created.statusCode).toBe(202);
    const command = created.json();
    expect(command).toMatchObject({ vehicleId: truck.id, status: "pending" });
    // this platform's one broker: those of test files alongside use other Redis databases
    expect(command.brokersNotified).toBe(1);

    // back online: the queued command arrives at QoS 1
    const again = mosquittoSub([...session, "-C", "1"]);
    const [received] = await again.waitForMessages(1);
    await again.finished();
    expect(received).toMatchObject({ topic: `fleet/${truck.id}/commands`, qos: 1, retained: false });
    expect(JSON.parse(received?.payload ?? "")).toEqual({
      commandId: command.id,
      payload: { action: "setInterval", seconds: 30 },
    });
    const status = async () =>
      (
        await api.app.inject({ url: `/api/vehicles/${truck.id}/commands/${command.id}`, headers: api.viewer })
      ).json();
    await waitFor(status, (c) => c.status === "delivered", { timeoutMs: 10_000, what: "command delivered" });

    const answer = { commandId: command.id, status: "ok", response: { interval: 30 } };
    const r = await mosquittoPub([
      ...device,
      "-q",
      "1",
      "-t",
      `fleet/${truck.id}/commands/ack`,
      "-m",
      JSON.stringify(answer),
    ]);
    expect(r.code, r.stderr).toBe(0);
    // the PUBACK came after the update: no waiting needed
    const list = await api.app.inject({ url: `/api/vehicles/${truck.id}/commands`, headers: api.viewer });
    expect(list.json().items[0]).toMatchObject({
      id: command.id,
      status: "acked",
      response: { interval: 30 },
      deliveredAt: expect.any(String),
      ackedAt: expect.any(String),
    });
  });

  it("gets a command sent before it ever subscribed on its first subscription, once", async () => {
    const fresh = await addVehicle(p.pool, { id: "mq-new-truck" });
    const args = [...connectArgs(broker, fresh), "-q", "1", "-t", `fleet/${fresh.id}/commands`];
    const send = async (payload: unknown) =>
      (
        await api.app.inject({
          method: "POST",
          url: `/api/vehicles/${fresh.id}/commands`,
          headers: api.admin,
          payload: { payload },
        })
      ).json().id as string;
    const status = async (id: string) =>
      (await api.app.inject({ url: `/api/vehicles/${fresh.id}/commands/${id}`, headers: api.viewer })).json();

    // nobody was subscribed when it was published: the first subscription gets it from the table
    const first = await send({ action: "hello" });
    const persistent = mosquittoSub([...args, "-c", "-i", `${fresh.id}:modem`]);
    try {
      const [m] = await persistent.waitForMessages(1);
      expect(JSON.parse(m?.payload ?? "")).toEqual({ commandId: first, payload: { action: "hello" } });
      await waitFor(
        () => status(first),
        (c) => c.status === "delivered",
        { timeoutMs: 30_000, what: "command delivered" },
      );
      await sleep(300);
      expect(persistent.messages).toHaveLength(1);
    } finally {
      await persistent.kill();
    }

    // a clean session keeps no QoS 1 state, so Aedes reports no PUBACK: the command stays
    // pending, and is sent again on each fresh subscription until the device answers it
    const second = await send({ action: "again" });
    for (let round = 0; round < 2; round++) {
      const clean = mosquittoSub(args);
      const [m] = await clean.waitForMessages(1);
      expect(JSON.parse(m?.payload ?? "").commandId).toBe(second);
      await clean.kill();
    }
    const answer = JSON.stringify({ commandId: second, status: "ok" });
    await mosquittoPub([
      ...connectArgs(broker, fresh),
      "-q",
      "1",
      "-t",
      `fleet/${fresh.id}/commands/ack`,
      "-m",
      answer,
    ]);
    expect(await status(second)).toMatchObject({ status: "acked", deliveredAt: expect.any(String) });
    const later = mosquittoSub(args);
    await later.listenFor(2_000);
    expect(later.messages).toEqual([]);
  });

  it("receives a command at once while connected; an error answer marks it failed, an unknown one is refused", async () => {
    const online = mosquittoSub([
      ...device,
      "-q",
      "1",
      "-t",
      `fleet/${truck.id}/commands`,
      "-t",
      `fleet/${truck.id}/errors`,
    ]);
    try {
      await online.subscribed;
      const created = await api.app.inject({
        method: "POST",
        url: `/api/vehicles/${truck.id}/commands`,
        headers: api.admin,
        payload: { payload: "reboot" },
      });
      const id = created.json().id as string;
      const [cmd] = await online.waitForMessages(1);
      expect(JSON.parse(cmd?.payload ?? "")).toEqual({ commandId: id, payload: "reboot" });

      const fail = { commandId: id, status: "error", response: "not supported" };
      await mosquittoPub([
        ...device,
        "-q",
        "1",
        "-t",
        `fleet/${truck.id}/commands/ack`,
        "-m",
        JSON.stringify(fail),
      ]);
      const c = (
        await api.app.inject({ url: `/api/vehicles/${truck.id}/commands/${id}`, headers: api.viewer })
      ).json();
      expect(c).toMatchObject({ status: "failed", response: "not supported" });

      const unknown = { commandId: "00000000-0000-4000-8000-000000000000", status: "ok" };
      const r = await mosquittoPub([
        ...device,
        "-q",
        "1",
        "-t",
        `fleet/${truck.id}/commands/ack`,
        "-m",
        JSON.stringify(unknown),
      ]);
      expect(r.code).toBe(0); // acknowledged, not a disconnect
      const notices = await online.waitForMessages(2);
      expect(JSON.parse(notices[1]?.payload ?? "")).toMatchObject({
        reason: "E_BAD_PAYLOAD",
        topic: `fleet/${truck.id}/commands/ack`,
        detail: expect.stringContaining("no such command"),
      });
    } finally {
      await online.kill();
    }
  });

  it("may not publish another vehicle's Teltonika topic or its own downlink topics", async () => {
    for (const topic of ["356307042441099/data", `fleet/${truck.id}/commands`, `owntracks/other/phone`]) {
      const r = await mosquittoPub([...device, "-q", "1", "-t", topic, "-m", "{}"]);
      expect(r.code, `${topic}: ${r.stderr}`).not.toBe(0);
    }
  });
});
