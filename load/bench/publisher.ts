import { readFileSync, writeFileSync } from "node:fs";
import mqtt, { type MqttClient } from "mqtt";
import { type BenchFix, osmandSender, type Sender, teltonikaSender } from "./device-senders.ts";
import { Samples } from "./histogram.ts";

/**
 * One load-generator process: N device connections publishing QoS 1 fixes at a fixed total
 * rate for a fixed time, measuring publish→PUBACK (or, for the other protocols, send→the
 * Teltonika record count / the OsmAnd 200). Run as a child of the bench (loopback only),
 * configured by a JSON file; prints one JSON result line on stdout.
 */
export interface PublisherJob {
  url: string;
  /** default mqtt; teltonika-tcp devices need an imei, osmand ones a deviceKey */
  protocol?: "mqtt" | "teltonika-tcp" | "osmand";
  devices: { id: string; username: string; password: string; imei?: string; deviceKey?: string }[];
  /** messages per second, all connections together */
  rate: number;
  seconds: number;
  /** fixes per message: 1 = /location, >1 = a /locations array */
  fixesPerMessage: number;
  qos: 0 | 1;
  /** topic template; {id} is replaced */
  topic?: string;
  /** a file to write every message to (device id, last fix's recordedAt, acknowledged 0/1) */
  ledger?: string;
  /** how long to wait for outstanding PUBACKs after the run, ms (default 10,000) */
  graceMs?: number;
  /**
   * the first this many ms of the run are a pre-roll: their messages count as sent and acknowledged
   * but their publish→PUBACK times are left out of `ackMs` (throughput.ts, `preRollSeconds`)
   */
  sampleAfterMs?: number;
  /**
   * after the run and its answers, each device sends one more fix at 0 km/h, its vehicle parked
   * (load/bench/alerts.ts: the next step, after a pause, starts with no speeding run open); in no
   * count, time or CPU figure of the result but `parked`
   */
  park?: boolean;
}

export interface PublisherResult {
  offered: number;
  sent: number;
  acked: number;
  errors: number;
  /**
   * due and sent, then neither acknowledged nor an error by the end of the grace period: written and
   * unanswered, or (an MQTT device) still held behind its window
   */
  unanswered: number;
  fixesAcked: number;
  /** publish→PUBACK of each acknowledged transmission, ms (thinned) */
  ackMs: number[];
  /** MQTT devices: PUBLISH packets written (a resend counts again) */
  transmissions: number;
  /** MQTT devices: transmissions whose connection closed before their PUBACK (sent again) */
  refused: number;
  /** MQTT devices: connections the broker closed that the device opened again */
  reconnects: number;
  cpuMs: number;
  wallMs: number;
  /** with `park`: the parking fixes acknowledged */
  parked?: number;
}

const job: PublisherJob = JSON.parse(readFileSync(process.argv[2] as string, "utf8"));
/** set once the run and its grace period are over: devices stop reconnecting */
let stopped = false;
/** MQTT devices: PUBLISH packets written, those whose connection closed before their PUBACK, reconnects */
const mqttCounts = { transmissions: 0, refused: 0, reconnects: 0 };
/**
 * QoS 1 publishes a device has unacknowledged at once; the next wait in the device. Paho Java's
 * default (OwnTracks Android uses it; Paho Python's is 20); MQTT 5 calls the limit Receive Maximum.
 */
const MAX_INFLIGHT = 10;

/** Connects like a fleet after a restart: in waves, retrying a refusal (the broker's connect-storm limit) with backoff. */
async function connectDevice(d: PublisherJob["devices"][number], maxAttempts = 30): Promise<MqttClient> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await mqtt.connectAsync(job.url, {
        ...(d.username ? { username: d.username, password: d.password } : {}),
        clientId: `${d.id}:bench`,
        reconnectPeriod: 0,
        keepalive: 60,
      });
    } catch (err) {
      if (attempt >= maxAttempts || stopped) throw err;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200 * Math.min(attempt + 1, 10)));
    }
  }
}

/**
 * An MQTT device publishing its fixes as native JSON on the job's topic, as a tracker with a store
 * and forward buffer does: at most MAX_INFLIGHT publishes unacknowledged, the others kept in the
 * device until one is answered; when the broker closes its connection (shedding load,
 * broker/limits/load-shed.ts) the publishes it had not acknowledged are kept too, the device
 * reconnects with backoff (CONNACK 3 while the broker sheds) and sends them again as new
 * publishes. `send` resolves with the publish→PUBACK time of the transmission that was
 * acknowledged (the broker's answer, not the device's backlog); the fix's own delay, from its
 * recordedAt and resends included, is the bench's commit latency.
 */
async function mqttDevice(d: PublisherJob["devices"][number]): Promise<Sender> {
  const topic = (
    job.topic ?? (job.fixesPerMessage === 1 ? "fleet/{id}/location" : "fleet/{id}/locations")
  ).replace("{id}", d.id);
  const one = (f: BenchFix) =>
    `{"lat":${f.lat.toFixed(6)},"lng":${f.lng.toFixed(6)},"recordedAt":${f.recordedAt},"speed":${f.speed},"heading":${f.heading}}`;
  let client: MqttClient | undefined;
  /** the connected client's transmissions not yet answered: failed at once when it closes */
  let inFlight = new Set<(err: Error) => void>();
  const connected: (() => void)[] = [];
  /** transmissions in flight, and the sends waiting for one of the MAX_INFLIGHT slots, in order */
  let busy = 0;
  const slots: (() => void)[] = [];
  /** a slot freed goes to the first send waiting for one, else back to the pool */
  const release = () => {
    const next = slots.shift();
    if (next) next();
    else busy--;
  };

  function attach(c: MqttClient): void {
    client = c;
    c.once("close", () => {
      client = undefined;
      const lost = inFlight;
      inFlight = new Set();
      for (const fail of lost) fail(new Error("connection closed before the PUBACK"));
      // mqtt.js keeps a closed client's QoS 1 messages for a reconnect of its own: drop them
      c.end(true);
      if (!stopped) void reconnect();
      else for (const w of connected.splice(0)) w();
    });
    for (const w of connected.splice(0)) w();
  }
  async function reconnect(): Promise<void> {
    mqttCounts.reconnects++;
    try {
      attach(await connectDevice(d, Number.POSITIVE_INFINITY));
    } catch {
      for (const w of connected.splice(0)) w();
    }
  }
  function transmit(c: MqttClient, payload: string): Promise<number> {
    mqttCounts.transmissions++;
    const t0 = performance.now();
    return new Promise<number>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        inFlight.delete(fail);
        reject(err);
      };
      inFlight.add(fail);
      c.publishAsync(topic, payload, { qos: job.qos }).then(() => {
        if (settled) return;
        settled = true;
        inFlight.delete(fail);
        resolve(performance.now() - t0);
      }, fail);
    });
  }
  attach(await connectDevice(d));
  return {
    send: async (fixes) => {
      const payload = fixes.length === 1 ? one(fixes[0] as BenchFix) : `[${fixes.map(one).join(",")}]`;
      for (;;) {
        while (!client) {
          if (stopped) throw new Error("device stopped");
          await new Promise<void>((r) => connected.push(r));
        }
        // a slot: taken now, or handed over by the transmission that freed it
        if (busy < MAX_INFLIGHT) busy++;
        else await new Promise<void>((r) => slots.push(r));
        if (!client) {
          // the connection went while it waited: the slot goes on, this waits to reconnect
          release();
          continue;
        }
        try {
          return await transmit(client, payload);
        } catch {
          // closed before its PUBACK: kept, sent again once connected
          mqttCounts.refused++;
        } finally {
          release();
        }
      }
    },
    close: () => {
      const c = client;
      client = undefined;
      for (const w of connected.splice(0)) w();
      if (c) void c.endAsync(true).catch(() => {});
    },
  };
}

async function openSender(d: PublisherJob["devices"][number]): Promise<Sender> {
  if (job.protocol === "teltonika-tcp") return teltonikaSender(job.url, d.imei as string);
  if (job.protocol === "osmand") return osmandSender(job.url, d.deviceKey as string);
  return mqttDevice(d);
}

const clients: Sender[] = [];
for (let i = 0; i < job.devices.length; i += 100) {
  clients.push(...(await Promise.all(job.devices.slice(i, i + 100).map(openSender))));
}
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
// wait for the go signal (a line on stdin), so every publisher starts together
await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));

const samples = new Samples();
// per message, for the bench's reconciliation (load/bench/reconcile.ts): who, when, acknowledged
const ledger: number[] | undefined = job.ledger ? [] : undefined;
const ackedFlags = job.ledger ? new Uint8Array(Math.ceil(job.rate * job.seconds * 1.5) + 1000) : undefined;
let sent = 0;
let acked = 0;
let errors = 0;
let seq = 0;
const startCpu = process.cpuUsage();
const start = performance.now();
const tickMs = 10;
const pending: Promise<void>[] = [];

// recordedAt strictly increases per device, so every fix is a distinct row (no accidental duplicates)
const lastT = new Float64Array(job.devices.length);
function fixesFor(deviceIndex: number, speed?: number): BenchFix[] {
  const first = Math.max(Date.now() - job.fixesPerMessage + 1, (lastT[deviceIndex] as number) + 1);
  lastT[deviceIndex] = first + job.fixesPerMessage - 1;
  const lat = 25 + (deviceIndex % 1000) * 0.0005;
  return Array.from({ length: job.fixesPerMessage }, (_, k) => ({
    lat,
    lng: 55 + ((seq + k) % 1000) * 0.0001,
    recordedAt: first + k,
    speed: speed ?? (seq + k) % 120,
    heading: seq % 360,
  }));
}

await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    const elapsed = performance.now() - start;
    if (elapsed >= job.seconds * 1000) {
      clearInterval(timer);
      resolve();
      return;
    }
    // open loop on the wall clock: what is due is what the rate asks for by now, so a tick that
    // comes late (a busy event loop) sends its backlog instead of silently lowering the rate
    const due = Math.floor((elapsed * job.rate) / 1000);
    while (sent < due) {
      const i = seq++ % clients.length;
      const c = clients[i] as Sender;
      const n = sent++;
      // by when it was due: a late tick's backlog belongs to the time it was due
      const sampled = (n * 1000) / job.rate >= (job.sampleAfterMs ?? 0);
      const fixes = fixesFor(i);
      if (ledger) ledger.push(i, (fixes[fixes.length - 1] as BenchFix).recordedAt);
      pending.push(
        c.send(fixes).then(
          (ms) => {
            acked++;
            if (ackedFlags) ackedFlags[n] = 1;
            // the acknowledged transmission's own time (an MQTT device may have sent it again)
            if (sampled) samples.add(ms);
          },
          () => {
            errors++;
          },
        ),
      );
    }
  }, tickMs);
});
// give outstanding acks up to 10 s
const grace = () => new Promise((r) => setTimeout(r, job.graceMs ?? 10_000));
await Promise.race([Promise.all(pending), grace()]);
// what the run did, before any parking
const cpu = process.cpuUsage(startCpu);
const wallMs = performance.now() - start;
const counted = { ...mqttCounts };
let parked = 0;
if (job.park)
  await Promise.race([
    Promise.all(
      clients.map((c, i) =>
        c.send(fixesFor(i, 0)).then(
          () => {
            parked++;
          },
          () => {},
        ),
      ),
    ),
    grace(),
  ]);
stopped = true;
const result: PublisherResult = {
  offered: Math.round(job.rate * job.seconds),
  sent,
  acked,
  errors,
  unanswered: sent - acked - errors,
  fixesAcked: acked * job.fixesPerMessage,
  ackMs: samples.thin(),
  ...counted,
  cpuMs: (cpu.user + cpu.system) / 1000,
  wallMs,
  ...(job.park ? { parked } : {}),
};
if (job.ledger && ledger && ackedFlags) {
  const lines: string[] = [];
  for (let k = 0; k < ledger.length; k += 2) {
    lines.push(`${job.devices[ledger[k] as number]?.id},${ledger[k + 1]},${ackedFlags[k / 2] ?? 0}`);
  }
  writeFileSync(job.ledger, `${lines.join("\n")}\n`);
}
for (const c of clients) c.close();
// a result line longer than the pipe buffer is written asynchronously: exit only once it is out
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
