import mqtt, { type MqttClient } from "mqtt";
import type { AckLog, SentFix } from "./acked.ts";

export interface Pressure {
  /** fixes acknowledged so far */
  readonly acked: number;
  stop(): Promise<void>;
}

/**
 * One device uploading store-and-forward arrays (`fleet/{id}/locations`) at a steady rate: a
 * heavier load than the trucks, whose forwarded copies fill a frozen subscriber's socket quickly.
 * Persistent session: an upload without PUBACK is sent again after a reconnect.
 */
export async function startPressure(o: {
  url: string;
  device: { id: string; username: string; password: string };
  fixesPerMessage: number;
  everyMs: number;
  /** an unknown key of this many bytes per fix: ignored by the bridge, forwarded to subscribers */
  padBytes?: number;
  log: AckLog;
}): Promise<Pressure> {
  const client: MqttClient = await mqtt.connectAsync(o.url, {
    username: o.device.username,
    password: o.device.password,
    clientId: `pressure-${o.device.id}`,
    clean: false,
    reconnectPeriod: 500,
  });
  let seq = 0;
  let acked = 0;
  let t = Date.now() - 60_000;
  const pad = o.padBytes ? "p".repeat(o.padBytes) : undefined;
  const pending = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const fixes: SentFix[] = [];
    for (let k = 0; k < o.fixesPerMessage; k++) {
      // strictly increasing times: every fix is a row of its own
      t = Math.max(t + 1, Date.now() - 60_000);
      fixes.push({
        lat: 25 + (seq % 1000) * 1e-4,
        lng: 55 + k * 1e-5,
        recordedAt: t,
        speed: (seq + k) % 120,
        heading: (seq * 7) % 360,
        messageId: `${o.device.id}-${seq}-${k}`,
      });
    }
    seq++;
    const sentAt = performance.now();
    const body = pad === undefined ? fixes : fixes.map((f) => ({ ...f, note: pad }));
    const p = client.publishAsync(`fleet/${o.device.id}/locations`, JSON.stringify(body), { qos: 1 }).then(
      () => {
        acked += fixes.length;
        o.log.record(o.device.id, fixes, sentAt, "pressure");
      },
      () => {},
    );
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }, o.everyMs);
  return {
    get acked() {
      return acked;
    },
    async stop() {
      clearInterval(timer);
      await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 30_000))]);
      await client.endAsync(true).catch(() => {});
    },
  };
}
