import http from "node:http";
import type { AddressInfo } from "node:net";
import mqtt from "mqtt";
import { SIGNATURE_HEADER, verifySignature } from "../../core/webhook-signature.ts";
import { Samples } from "./histogram.ts";
import type { LatencyFigures } from "./results.ts";
import type { Device } from "./suts.ts";

/**
 * Alert latency, end to end: from the PUBACK of the fix that starts a speeding episode to the
 * receipt of that episode's `start` webhook by a receiver the bench runs (the broker, bridge,
 * queue, worker batch, alert outbox, notifications queue and webhook delivery in between).
 */
export interface Receipt {
  vehicleId: string;
  /** the alert's startedAt (ISO): the event time of the fix that started the episode */
  startedAt: string;
  phase: string;
  /** performance.now() at receipt */
  at: number;
}

export const triggerKey = (vehicleId: string, recordedAt: number) => `${vehicleId}\u0000${recordedAt}`;

/**
 * Matches each `start` receipt to its triggering fix's PUBACK (by vehicle and episode start;
 * a redelivery counts once, the first) and gives the latencies, in ms, in receipt order.
 */
export function matchLatencies(acks: ReadonlyMap<string, number>, receipts: readonly Receipt[]): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  for (const r of receipts) {
    if (r.phase !== "start") continue;
    const key = triggerKey(r.vehicleId, Date.parse(r.startedAt));
    const acked = acks.get(key);
    if (acked === undefined || seen.has(key)) continue;
    seen.add(key);
    out.push(r.at - acked);
  }
  return out;
}

/** Exact figures from the samples (load/bench/histogram.ts: sorted, not bucketed). */
export function latencyFigures(
  acks: ReadonlyMap<string, number>,
  receipts: readonly Receipt[],
  badSignatures: number,
): LatencyFigures {
  const samples = new Samples();
  samples.merge(matchLatencies(acks, receipts));
  return {
    triggers: acks.size,
    received: samples.count,
    p50: samples.percentile(50),
    p99: samples.percentile(99),
    max: samples.percentile(100),
    badSignatures,
  };
}

/** A local webhook receiver on 127.0.0.1 that checks each signature and keeps each alert's receipt. */
export async function startReceiver(secret: string) {
  const receipts: Receipt[] = [];
  let badSignatures = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = performance.now();
      const body = Buffer.concat(chunks).toString("utf8");
      if (!verifySignature(String(req.headers[SIGNATURE_HEADER] ?? ""), secret, body)) badSignatures++;
      try {
        const m = JSON.parse(body) as {
          type?: string;
          vehicleId?: string;
          startedAt?: string;
          phase?: string;
        };
        if (m.type === "alert" && m.vehicleId && m.startedAt && m.phase)
          receipts.push({ vehicleId: m.vehicleId, startedAt: m.startedAt, phase: m.phase, at });
      } catch {
        badSignatures++;
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    receipts,
    badSignatures: () => badSignatures,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * Each vehicle publishes a fix every `intervalMs`, alternately at 0 and at `overKmh` km/h, so
 * every other fix starts an episode of a speeding rule with a limit between the two and no
 * minimum (and the next ends it). Returns the PUBACK time of each triggering fix by triggerKey.
 */
export async function publishTriggers(
  url: string,
  devices: readonly Device[],
  o: { seconds: number; intervalMs: number; overKmh: number },
): Promise<Map<string, number>> {
  const acks = new Map<string, number>();
  const clients = await Promise.all(
    devices.map((d) =>
      mqtt.connectAsync(url, {
        username: d.username,
        password: d.password,
        clientId: `${d.id}:bench-alerts`,
        reconnectPeriod: 0,
      }),
    ),
  );
  const end = performance.now() + o.seconds * 1000;
  await Promise.all(
    clients.map(async (c, i) => {
      const d = devices[i] as Device;
      // spread the vehicles over the interval, so the triggers do not all come at once
      await new Promise((r) => setTimeout(r, (o.intervalMs * i) / clients.length));
      let last = 0;
      for (let n = 0; performance.now() < end; n++) {
        const recordedAt = Math.max(Date.now(), last + 1);
        last = recordedAt;
        const over = n % 2 === 1;
        const fix = { lat: 25.3, lng: 55.3, recordedAt, speed: over ? o.overKmh : 0, heading: 0 };
        const next = performance.now() + o.intervalMs;
        await c.publishAsync(`fleet/${d.id}/location`, JSON.stringify(fix), { qos: 1 });
        if (over) acks.set(triggerKey(d.id, recordedAt), performance.now());
        await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
      }
    }),
  );
  await Promise.all(clients.map((c) => c.endAsync()));
  return acks;
}
