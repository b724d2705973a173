import { createHmac, timingSafeEqual } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AlertMessage } from "../../core/alerts.ts";
import { waitFor } from "../support/wait.ts";
import { alert, type NotifyHarness, startNotifications } from "./support/harness.ts";
import { type Receiver, startReceiver } from "./support/receiver.ts";

/** The receiver's check, written from the README's description, not from the product's code. */
function signatureValid(header: string | string[] | undefined, secret: string, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(header));
  if (!m) return false;
  const t = Number(m[1]);
  if (Math.abs(Date.now() / 1000 - t) > 300) return false;
  const expected = createHmac("sha256", secret).update(`${t}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2] as string, "hex"));
}

const key = (a: Pick<AlertMessage, "id" | "phase">) => `${a.id}-${a.phase}`;

describe("webhook delivery through the notifications queue", () => {
  let h: NotifyHarness;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    h = await startNotifications();
    // two consumers, as two worker replicas: order must hold across them
    h.startWorker();
    h.startWorker();
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await h?.close();
  });

  it("a receiver that answers 500 for a while then 200 gets every alert afterwards, in order per vehicle, signed", async () => {
    const receiver = await startReceiver((n) => (n < 15 ? 500 : 200));
    receivers.push(receiver);
    const channel = await h.webhookChannel(receiver.url);
    const vehicles = ["truck-1", "truck-2", "truck-3"];
    // per vehicle: two episodes, each start then end; announced in batches that interleave vehicles
    const sent = new Map<string, AlertMessage[]>(vehicles.map((v) => [v, []]));
    for (let round = 0; round < 4; round++) {
      const batch = vehicles.map((v) => {
        const a = alert(v, round % 2 === 0 ? "start" : "end");
        sent.get(v)?.push(a);
        return { alert: a, channelIds: [channel.id] };
      });
      await h.notify(batch);
    }

    await waitFor(
      async () => receiver.delivered().length,
      (n) => n >= 12,
      { what: "12 deliveries" },
    );
    expect(receiver.requests.filter((r) => r.status === 500)).toHaveLength(15);

    for (const v of vehicles) {
      const expected = (sent.get(v) ?? []).map(key);
      const got = receiver.delivered().filter((m) => m.vehicleId === v);
      expect(got.map(key)).toEqual(expected);
      // every request for this vehicle, retries included: never a later alert before an earlier one is delivered
      const attempts = receiver.requests
        .map((r) => ({ ...r, message: JSON.parse(r.body) as AlertMessage }))
        .filter((r) => r.message.vehicleId === v);
      let at = 0;
      for (const r of attempts) {
        expect(key(r.message)).toBe(expected[at]);
        if (r.status < 300) at++;
      }
      expect(got[0]).toEqual(sent.get(v)?.[0]);
    }
    for (const r of receiver.requests) {
      expect(signatureValid(r.headers["x-logitrack-signature"], channel.secret, r.body)).toBe(true);
      expect(r.headers["content-type"]).toBe("application/json");
      const m = JSON.parse(r.body) as AlertMessage;
      expect(r.headers["x-logitrack-delivery"]).toBe(`a${m.id}-${m.phase}-c${channel.id}`);
    }
    expect(
      signatureValid(
        receiver.requests[0]?.headers["x-logitrack-signature"],
        "another secret",
        receiver.requests[0]?.body ?? "",
      ),
    ).toBe(false);

    // the log: failed attempts with the receiver's status, then one ok per delivery
    // the receiver answered before the worker logged it: wait for the log to catch up
    const log = await waitFor(
      () => h.deliveries(channel.id),
      (rows) => rows.filter((d) => d.status === "ok").length === 12,
    );
    expect(log.filter((d) => d.status === "failed")).toHaveLength(15);
    expect(
      log.filter((d) => d.status === "failed").every((d) => d.httpStatus === 500 && d.error === "HTTP 500"),
    ).toBe(true);
    const ok = log.filter((d) => d.status === "ok");
    expect(ok).toHaveLength(12);
    expect(new Set(ok.map((d) => d.deliveryId)).size).toBe(12);
    expect(log.some((d) => d.status === "dead")).toBe(false);
  });

  it("an alert phase enqueued twice (a retried batch, or twice at once) is delivered once", async () => {
    const receiver = await startReceiver();
    receivers.push(receiver);
    const channel = await h.webhookChannel(receiver.url);
    const batch = ["van-1", "van-2"].flatMap((v) => {
      const a = alert(v, "start");
      return [
        { alert: a, channelIds: [channel.id, channel.id] },
        {
          alert: { ...a, phase: "end" as const, endedAt: "2026-03-01T10:05:00.000Z" },
          channelIds: [channel.id],
        },
      ];
    });
    await h.notify(batch);
    await h.notify(batch);
    await Promise.all([h.notify(batch), h.notify(batch)]);
    // a later alert on each lane: once it is delivered, everything before it was handled
    const last = ["van-1", "van-2"].map((v) => alert(v, "start"));
    await h.notify(last.map((a) => ({ alert: a, channelIds: [channel.id] })));
    await waitFor(
      async () => receiver.delivered().filter((m) => last.some((l) => l.id === m.id)).length,
      (n) => n === 2,
      { what: "the later alerts" },
    );
    const keys = receiver.delivered().map(key);
    expect(keys).toHaveLength(6);
    expect(new Set(keys).size).toBe(6);
    const log = await waitFor(
      () => h.deliveries(channel.id),
      (rows) => rows.length >= 6,
    );
    expect(log.map((d) => d.status)).toEqual(Array(6).fill("ok"));
  });

  it("a disabled channel is not sent alerts", async () => {
    const receiver = await startReceiver();
    receivers.push(receiver);
    const off = await h.webhookChannel(receiver.url, undefined, false);
    const on = await h.webhookChannel(receiver.url);
    const a = alert("bus-1");
    await h.notify([{ alert: a, channelIds: [off.id, on.id] }]);
    await waitFor(
      async () => receiver.delivered().length,
      (n) => n === 1,
      { what: "one delivery" },
    );
    expect(receiver.requests[0]?.headers["x-logitrack-delivery"]).toBe(`a${a.id}-start-c${on.id}`);
    expect(await h.deliveries(off.id)).toEqual([]);
  });
});

describe("dead letter", () => {
  let h: NotifyHarness;
  let receiver: Receiver;

  beforeAll(async () => {
    h = await startNotifications({ NOTIFY_ATTEMPTS: "3" });
    h.startWorker();
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  it("after the last attempt a message is dead (logged with its message) and the vehicle's next alert goes on", async () => {
    const doomed = alert("truck-9");
    const next = alert("truck-9");
    receiver = await startReceiver((_, body) => (JSON.parse(body).id === doomed.id ? 503 : 200));
    const channel = await h.webhookChannel(receiver.url);
    await h.notify([{ alert: doomed, channelIds: [channel.id] }]);
    await h.notify([{ alert: next, channelIds: [channel.id] }]);
    await waitFor(
      async () => receiver.delivered().length,
      (n) => n === 1,
      { what: "the next alert" },
    );

    expect(receiver.requests.map((r) => [JSON.parse(r.body).id, r.status])).toEqual([
      [doomed.id, 503],
      [doomed.id, 503],
      [doomed.id, 503],
      [next.id, 200],
    ]);
    const log = await waitFor(
      () => h.deliveries(channel.id),
      (rows) => rows.length >= 4,
    );
    expect(log.map((d) => [d.deliveryId, d.attempt, d.status, d.httpStatus])).toEqual([
      [`a${doomed.id}-start-c${channel.id}`, 1, "failed", 503],
      [`a${doomed.id}-start-c${channel.id}`, 2, "failed", 503],
      [`a${doomed.id}-start-c${channel.id}`, 3, "dead", 503],
      [`a${next.id}-start-c${channel.id}`, 1, "ok", 200],
    ]);
    expect(log[2]?.payload).toEqual(doomed);
    expect(log[2]?.alertId).toBe(doomed.id);
  });
});
