import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RejectReason } from "../core/reject-reasons.ts";
import { addIntegration, type DeviceCredentials } from "../core/vehicles.ts";
import { startPlatform, type TestPlatform } from "./support/platform.ts";
import { waitFor } from "./support/wait.ts";

const DAY = 86_400_000;
const now = Date.now();
let t = now - 3_600_000;
const valid = () => {
  t += 1000;
  return { lat: 25.2, lng: 55.3, recordedAt: t, speed: 40 };
};

/** Ten kinds of broken message, each with the reason it must be stored with. */
const KINDS: {
  reason: RejectReason;
  count: number;
  make: () => { topic: "location" | "locations"; payload: string };
}[] = [
  { reason: "E_BAD_JSON", count: 110, make: () => ({ topic: "location", payload: '{"lat":25.2,"lng":' }) },
  {
    reason: "E_OUT_OF_RANGE",
    count: 110,
    make: () => ({ topic: "location", payload: JSON.stringify({ ...valid(), lat: 91 }) }),
  },
  {
    reason: "E_OUT_OF_RANGE",
    count: 110,
    make: () => ({ topic: "location", payload: JSON.stringify({ ...valid(), speed: -5 }) }),
  },
  {
    reason: "E_MISSING_FIELD",
    count: 110,
    make: () => ({ topic: "location", payload: JSON.stringify({ lat: 25, lng: 55 }) }),
  },
  {
    reason: "E_IN_FUTURE",
    count: 110,
    make: () => ({ topic: "location", payload: JSON.stringify({ ...valid(), recordedAt: now + DAY }) }),
  },
  {
    reason: "E_TOO_OLD",
    count: 110,
    make: () => ({
      topic: "location",
      payload: JSON.stringify({ ...valid(), recordedAt: now - 3650 * DAY }),
    }),
  },
  {
    reason: "E_BAD_TYPE",
    count: 110,
    make: () => ({ topic: "location", payload: JSON.stringify({ ...valid(), lat: "25.2" }) }),
  },
  { reason: "E_BAD_PAYLOAD", count: 110, make: () => ({ topic: "location", payload: "[1,2,3]" }) },
  {
    reason: "E_TOO_LARGE",
    count: 10,
    make: () => ({ topic: "location", payload: `{"pad":"${"x".repeat(1024 * 1024)}"}` }),
  },
  {
    reason: "E_OUT_OF_RANGE",
    count: 110,
    // store-and-forward upload: two good fixes stored, the bad one rejected on its own
    make: () => ({
      topic: "locations",
      payload: JSON.stringify([valid(), { ...valid(), lng: 181 }, valid()]),
    }),
  },
];

describe("invalid input", () => {
  let p: TestPlatform;
  let device: MqttClient;
  let watcher: MqttClient;
  let id: string;
  const forwarded: string[] = [];
  const errors: { reason: string }[] = [];

  beforeAll(async () => {
    p = await startPlatform();
    const [creds] = await p.register("bad", 1);
    id = (creds as DeviceCredentials).id;
    device = await p.connect(creds as DeviceCredentials);
    await device.subscribeAsync(`fleet/${id}/errors`, { qos: 1 });
    device.on("message", (_topic, payload) => errors.push(JSON.parse(payload.toString())));
    watcher = await p.connect(await addIntegration(p.pool, "dashboard"));
    await watcher.subscribeAsync("fleet/#", { qos: 1 });
    watcher.on("message", (topic, payload) => {
      // presence changes (online) ride on fleet/{id}/events too: only fixes count here
      if (!topic.endsWith("/errors") && !topic.endsWith("/events")) forwarded.push(payload.toString());
    });
  });
  afterAll(() => p?.close());

  it("stores every valid fix, rejects each of 1,000 invalid payloads with its reason, and keeps serving", async () => {
    const expected = new Map<string, number>();
    const sent: Promise<unknown>[] = [];
    let validMessages = 0;
    let validFixes = 0;
    for (const kind of KINDS) {
      for (let i = 0; i < kind.count; i++) {
        const bad = kind.make();
        sent.push(device.publishAsync(`fleet/${id}/${bad.topic}`, bad.payload, { qos: 1 }));
        if (bad.topic === "locations") validFixes += 2;
        expected.set(kind.reason, (expected.get(kind.reason) ?? 0) + 1);
        sent.push(device.publishAsync(`fleet/${id}/location`, JSON.stringify(valid()), { qos: 1 }));
        validMessages++;
        validFixes++;
      }
    }
    await Promise.all(sent);
    expect([...expected.values()].reduce((a, b) => a + b)).toBe(1000);

    await waitFor(
      () => p.rowCount(),
      (n) => n >= validFixes,
      { what: `${validFixes} valid fixes stored` },
    );
    const rejected = await waitFor(
      async () =>
        (
          await p.pool.query<{ reason: string; n: number }>(
            "SELECT reason, count(*)::int AS n FROM rejected_messages WHERE vehicle_id = $1 GROUP BY reason",
            [id],
          )
        ).rows,
      (rows) => rows.reduce((a, r) => a + r.n, 0) >= 1000,
      { what: "1,000 rejects stored" },
    );
    expect(Object.fromEntries(rejected.map((r) => [r.reason, r.n]))).toEqual(Object.fromEntries(expected));
    expect(await p.rowCount()).toBe(validFixes);

    // the device is still connected and served; a new client is served too
    expect(device.connected).toBe(true);
    await device.publishAsync(`fleet/${id}/location`, JSON.stringify(valid()), { qos: 1 });
    const [other] = await p.register("after", 1);
    const fresh = await p.connect(other as DeviceCredentials);
    await fresh.publishAsync(`fleet/${other?.id}/location`, JSON.stringify(valid()), { qos: 1 });

    // the device heard why, once per rejected message; subscribers saw only valid messages
    await waitFor(
      async () => errors.length,
      (n) => n >= 1000,
      { what: "1,000 error notices" },
    );
    await waitFor(
      async () => forwarded.length,
      (n) => n >= validMessages + 2,
      { what: "valid messages forwarded" },
    );
    expect(errors.length).toBe(1000);
    expect(forwarded.length).toBe(validMessages + 2);
    for (const msg of forwarded) expect(JSON.parse(msg)).toMatchObject({ lat: 25.2, lng: 55.3 });
  });

  it("keeps the raw payload (cut to 4 KB) and a detail naming the field in the dead letter", async () => {
    const r = await p.pool.query<{ payload: string; detail: string; reason: string }>(
      "SELECT payload, detail, reason FROM rejected_messages WHERE reason IN ('E_TOO_LARGE', 'E_BAD_TYPE') ORDER BY reason",
    );
    const large = r.rows.find((x) => x.reason === "E_TOO_LARGE");
    const badType = r.rows.find((x) => x.reason === "E_BAD_TYPE");
    expect(large?.payload.length).toBe(4096);
    expect(badType?.detail).toMatch(/^lat: /);
  });
});
