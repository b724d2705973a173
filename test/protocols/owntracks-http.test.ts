import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addVehicle, type DeviceCredentials } from "../../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { waitFor } from "../support/wait.ts";
import { type ProtocolApi, startProtocolApi } from "./api.ts";
import { storedFixes, waitForFixes } from "./clients.ts";

const basic = (c: { username: string; password: string }) => ({
  authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`,
});

describe("OwnTracks HTTP mode: POST /api/owntracks", () => {
  let p: TestPlatform;
  let api: ProtocolApi;
  let phone: DeviceCredentials;

  beforeAll(async () => {
    p = await startPlatform();
    api = await startProtocolApi(p);
    phone = await addVehicle(p.pool, { id: "ot-http" });
  });
  afterAll(async () => {
    await api?.close();
    await p?.close();
  });

  const post = (body: string, headers: Record<string, string> = basic(phone)) =>
    api.app.inject({
      method: "POST",
      url: "/api/owntracks",
      headers: {
        "content-type": "application/json",
        "x-limit-u": phone.id,
        "x-limit-d": "pixel",
        ...headers,
      },
      payload: body,
    });

  it("stores a location sent the way the app sends it, and answers []", async () => {
    const tst = Math.floor(Date.now() / 1000) - 30;
    const res = await post(
      JSON.stringify({
        _type: "location",
        lat: 25.2048,
        lon: 55.2708,
        tst,
        vel: 61,
        cog: 12,
        acc: 8,
        batt: 77,
        tid: "px",
      }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([]);
    const [row] = await waitForFixes(p.pool, phone.id, 1);
    expect(row).toMatchObject({ lat: 25.2048, lng: 55.2708, recordedAt: tst * 1000, speed: 61, heading: 12 });
  });

  it("answers [] to types it ignores, to an empty body, and to a broken payload (recorded, not resent forever)", async () => {
    for (const body of ['{"_type":"lwt","tst":1717230000}', '{"_type":"transition","event":"leave"}', ""]) {
      const res = await post(body);
      expect(res.statusCode, body).toBe(200);
      expect(res.json()).toEqual([]);
    }
    const broken = await post('{"_type":"location","lat":25.2,"lon":55.3}');
    expect(broken.statusCode).toBe(200);
    const rejected = await waitFor(
      async () =>
        (
          await p.pool.query<{ topic: string; reason: string }>(
            "SELECT topic, reason FROM rejected_messages WHERE vehicle_id = $1",
            [phone.id],
          )
        ).rows,
      (rows) => rows.length >= 1,
      { timeoutMs: 10_000, what: "the broken payload in the dead letter" },
    );
    // the ignored ones left no trace; the broken one is in the dead letter under its device's topic
    expect(rejected).toEqual([{ topic: `owntracks/${phone.id}/pixel`, reason: "E_MISSING_FIELD" }]);
    expect(await storedFixes(p.pool, phone.id)).toHaveLength(1);
  });

  it("asks for the device's credentials", async () => {
    const none = await post("{}", {});
    expect(none.statusCode).toBe(401);
    expect(none.headers["www-authenticate"]).toMatch(/^Basic /);
    const wrong = await post("{}", basic({ username: phone.id, password: "nope" }));
    expect(wrong.statusCode).toBe(401);
  });
});
