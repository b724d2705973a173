import mqtt, { type MqttClient } from "mqtt";
import type { AckLog, SentFix } from "./acked.ts";

export interface Pressure {
  /** fixes acknowledged so far */
  readonly acked: number;
  stop(): Promise<void>;
}

/**
 * Extra load next to the trucks: devices publishing at a steady total rate, one fix per message
 * (`/location`) or store-and-forward arrays (`/locations`), optionally padded with an unknown key
 * (ignored by the bridge, forwarded as is to subscribers) so that a frozen subscriber's buffers
 * fill quickly. Each device stays below DEVICE_RATE_LIMIT; persistent sessions resend what was not
 * acknowledged after a reconnect. Every acknowledged fix goes into the AckLog, to be verified.
 */
export async function startPressure(o: {
  url: string;
  devices: { id: string; username: string; password: string }[];
  messagesPerSecond: number;
  fixesPerMessage: number;
  padBytes?: number;
  log: AckLog;
}): Promise<Pressure> {
  const clients: MqttClient[] = await Promise.all(
    o.devices.map((d) =>
      mqtt.connectAsync(o.url, {
        username: d.username,
        password: d.password,
        clientId: `${d.id}:pressure`,
        clean: false,
        reconnectPeriod: 500,
      }),
    ),
  );
  const lastT = o.devices.map(() => Date.now() - 60_000);
  const pad = o.padBytes ? "p".repeat(o.padBytes) : undefined;
  const pending = new Set<Promise<void>>();
  let seq = 0;
  let acked = 0;
  let due = 0;
  const tickMs = 10;
  const timer = setInterval(() => {
    due += (o.messagesPerSecond * tickMs) / 1000;
    while (due >= 1) {
      due -= 1;
      const i = seq++ % clients.length;
      const device = o.devices[i] as (typeof o.devices)[number];
      const fixes: SentFix[] = [];
      for (let k = 0; k < o.fixesPerMessage; k++) {
        // strictly increasing times per device: every fix is a row of its own
        const t = Math.max((lastT[i] as number) + 1, Date.now() - 60_000);
        lastT[i] = t;
        fixes.push({
          lat: 25 + (seq % 1000) * 1e-4,
          lng: 55 + k * 1e-5,
          recordedAt: t,
          speed: (seq + k) % 120,
          heading: (seq * 7) % 360,
          messageId: `${device.id}-${seq}-${k}`,
        });
      }
      const body = pad === undefined ? fixes : fixes.map((f) => ({ ...f, note: pad }));
      const many = o.fixesPerMessage > 1;
      const topic = `fleet/${device.id}/${many ? "locations" : "location"}`;
      const sentAt = performance.now();
      const p = (clients[i] as MqttClient)
        .publishAsync(topic, JSON.stringify(many ? body : body[0]), { qos: 1 })
        .then(
          () => {
            acked += fixes.length;
            o.log.record(device.id, fixes, sentAt, "pressure");
          },
          () => {},
        );
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }
  }, tickMs);
  return {
    get acked() {
      return acked;
    },
    async stop() {
      clearInterval(timer);
      await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 30_000))]);
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    },
  };
}
