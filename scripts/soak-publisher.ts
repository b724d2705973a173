import { readFileSync } from "node:fs";
import mqtt, { type MqttClient } from "mqtt";

/**
 * One publisher process of `npm run soak` (scripts/soak.ts): N device connections sending QoS 1
 * single-fix messages at a fixed total rate until told to stop (SIGTERM), and every `reportMs` a
 * JSON line with what happened in that interval: messages sent, PUBACKs, errors, PUBACK latency.
 */
interface Job {
  url: string;
  devices: { id: string; username: string; password: string }[];
  /** messages per second, all connections together */
  rate: number;
  reportMs: number;
}

const job = JSON.parse(readFileSync(process.argv[2] as string, "utf8")) as Job;
const clients: MqttClient[] = await Promise.all(
  job.devices.map((d) =>
    mqtt.connectAsync(job.url, {
      username: d.username,
      password: d.password,
      clientId: `${d.id}:soak`,
      clean: false,
      reconnectPeriod: 1000,
      keepalive: 60,
    }),
  ),
);
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

let sent = 0;
let acked = 0;
let errors = 0;
let latencies: number[] = [];
let seq = 0;
const tickMs = 10;
const start = performance.now();
let total = 0; // since start (`sent` is per report)
// recordedAt strictly increases per device: every fix is a row of its own
const lastT = new Float64Array(job.devices.length);

const timer = setInterval(() => {
  // open loop on the wall clock, as load/bench/publisher.ts: a late tick sends its backlog
  const due = Math.floor(((performance.now() - start) * job.rate) / 1000);
  while (total < due) {
    total++;
    const i = seq++ % clients.length;
    const t = Math.max(Date.now(), (lastT[i] as number) + 1);
    lastT[i] = t;
    const payload = `{"lat":${(25 + (i % 1000) * 5e-4).toFixed(6)},"lng":${(55 + (seq % 1000) * 1e-4).toFixed(6)},"recordedAt":${t},"speed":${seq % 120},"heading":${seq % 360}}`;
    const t0 = performance.now();
    sent++;
    (clients[i] as MqttClient).publish(`fleet/${job.devices[i]?.id}/location`, payload, { qos: 1 }, (err) => {
      if (err) errors++;
      else {
        acked++;
        latencies.push(performance.now() - t0);
      }
    });
  }
}, tickMs);

const report = setInterval(() => {
  const l = latencies.sort((a, b) => a - b);
  const pct = (p: number) => l[Math.min(l.length - 1, Math.floor(l.length * p))] ?? 0;
  process.stdout.write(
    `${JSON.stringify({ sent, acked, errors, ackP50: pct(0.5), ackP99: pct(0.99), ackMax: l[l.length - 1] ?? 0 })}\n`,
  );
  sent = 0;
  acked = 0;
  errors = 0;
  latencies = [];
}, job.reportMs);

process.on("SIGTERM", () => {
  clearInterval(timer);
  clearInterval(report);
  void Promise.all(clients.map((c) => c.endAsync(true).catch(() => {}))).then(() => process.exit(0));
});
