import mqtt, { type ErrorWithReasonCode, type IClientOptions, type MqttClient } from "mqtt";
import { topics } from "../core/topics.ts";
import type { SimFix } from "./payloads.ts";
import type { OutgoingMessage, Reporter } from "./reporter.ts";
import type { Truck } from "./truck.ts";

/** Counters shared by every device of a fleet (plain numbers: one Node thread). */
export interface FleetCounters {
  generated: number;
  /** fixes published for the first time (live and backlog; duplicates not counted) */
  sent: number;
  /** fixes published again on purpose (--duplicates) */
  duplicates: number;
  /** store-and-forward uploads on fleet/{id}/locations */
  batches: number;
  /** fixes whose first publish was acknowledged (PUBACK at QoS 1, written to the socket at QoS 0) */
  acked: number;
  messagesAcked: number;
  inflight: number;
  /** rejects the platform reported on fleet/{id}/errors */
  rejected: number;
  publishErrors: number;
  connectionErrors: number;
  authRefused: number;
  connects: number;
  reconnects: number;
  /** QoS 1 publishes MQTT.js sent again on a new connection because no PUBACK came on the old one */
  resent: number;
}

export interface FleetHooks {
  /** every generated fix, once, in generation order per truck */
  onFix?(fix: SimFix): void;
  onMessage?(msg: OutgoingMessage): void;
  onAck?(msg: OutgoingMessage): void;
  onError?(vehicleId: string, err: Error): void;
  onReject?(vehicleId: string, payload: string): void;
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export interface DeviceOptions {
  url: string;
  vehicleId: string;
  username: string;
  password: string;
  clientId: string;
  qos: 0 | 1;
  keepalive: number;
  truck: Truck;
  reporter: Reporter;
  intervalMs: number;
  /** wall-clock time of the first fix; fix k is recorded at firstAt + k * intervalMs */
  firstAt: number;
  /** OwnTracks carries whole seconds: stamp fixes so that nothing is lost to rounding */
  wholeSeconds: boolean;
  counters: FleetCounters;
  hooks: FleetHooks;
  backoff: Backoff;
  mqtt?: Partial<IClientOptions> | undefined;
}

// CONNACK 4 (bad user name or password), 5 (not authorized): retrying cannot help
const AUTH_REFUSED = new Set([4, 5, 134, 135]);

/**
 * One tracker: a truck, what it reports, and its own MQTT client (username = vehicle id).
 * A persistent session (clean: false, a stable client id) plus MQTT.js's outgoing store means
 * a QoS 1 fix that was not acknowledged before a disconnect is sent again after the reconnect;
 * reconnects back off exponentially with jitter, so a broker restart is not met by a storm.
 */
export class Device {
  readonly vehicleId: string;
  private readonly o: DeviceOptions;
  private readonly client: MqttClient;
  private seq = 0;
  private period: number;
  private dialled = false;
  private ended = false;
  /** publishes awaiting their acknowledgement */
  private pending = 0;
  /** packet ids sent and not yet acknowledged (to count resends) */
  private readonly unacked = new Set<number>();
  connected = false;
  /** refused with bad credentials: the device stays down */
  refused = false;

  constructor(opts: DeviceOptions) {
    this.o = opts;
    this.vehicleId = opts.vehicleId;
    this.period = opts.backoff.initialMs;
    this.client = this.createClient();
  }

  /** wall-clock time the next fix is due */
  get nextDueAt(): number {
    return this.recordedAt(this.seq);
  }

  /** generating and sending: not refused by the broker, not stopped */
  get active(): boolean {
    return !this.refused && !this.ended;
  }

  /** fixes held back by a coverage gap */
  get buffered(): number {
    return this.o.reporter.buffered;
  }

  /**
   * Creates the client; `connect` decides when it dials. Fixes published before that wait in
   * MQTT.js's offline queue, like a modem's store-and-forward memory.
   */
  private createClient(): MqttClient {
    const o = this.o;
    const client = mqtt.connect(o.url, {
      clientId: o.clientId,
      username: o.username,
      password: o.password,
      clean: false,
      keepalive: o.keepalive,
      reconnectPeriod: jitter(this.period),
      // CONNACK 3 (server unavailable) is worth retrying; bad credentials end the client below
      reconnectOnConnackError: true,
      connectTimeout: 30_000,
      manualConnect: true,
      ...o.mqtt,
    });
    client.on("connect", (connack) => {
      this.connected = true;
      this.period = o.backoff.initialMs;
      client.options.reconnectPeriod = jitter(this.period);
      o.counters.connects++;
      // the broker keeps the subscription in the persistent session
      if (!connack.sessionPresent) client.subscribe(topics.errors(o.vehicleId), { qos: 1 }, () => {});
    });
    client.on("reconnect", () => {
      o.counters.reconnects++;
      // MQTT.js arms its next attempt with options.reconnectPeriod after this one fails
      this.period = Math.min(o.backoff.maxMs, this.period * 2);
      client.options.reconnectPeriod = jitter(this.period);
    });
    client.on("close", () => {
      this.connected = false;
    });
    // a packet id still awaiting its PUBACK that goes out again is a resend from the session store
    client.on("packetsend", (packet) => {
      if (packet.cmd !== "publish" || packet.qos === 0 || packet.messageId === undefined) return;
      if (this.unacked.has(packet.messageId)) o.counters.resent++;
      else this.unacked.add(packet.messageId);
    });
    client.on("packetreceive", (packet) => {
      if (packet.cmd === "puback" && packet.messageId !== undefined) this.unacked.delete(packet.messageId);
    });
    client.on("error", (err) => {
      const code = (err as ErrorWithReasonCode).code;
      if (typeof code === "number" && AUTH_REFUSED.has(code)) {
        this.refused = true;
        o.counters.authRefused++;
        // with manualConnect, MQTT.js would re-arm its reconnect timer once the stream closes
        client.options.reconnectPeriod = 0;
        client.end(true);
      } else {
        o.counters.connectionErrors++;
      }
      o.hooks.onError?.(o.vehicleId, err);
    });
    client.on("message", (_topic, payload) => {
      o.counters.rejected++;
      o.hooks.onReject?.(o.vehicleId, payload.toString());
    });
    return client;
  }

  /** Dials the broker (once; MQTT.js reconnects from then on). */
  connect(): void {
    if (this.dialled) return;
    this.dialled = true;
    this.client.connect();
  }

  /** Generates the next fix and publishes what the reporter decides to send. */
  tick(): void {
    const o = this.o;
    if (this.seq > 0) o.truck.advance(o.intervalMs / 1000);
    const fix: SimFix = {
      vehicleId: o.vehicleId,
      recordedAt: this.recordedAt(this.seq),
      messageId: `${o.vehicleId}-${this.seq}`,
      reading: o.truck.read(),
    };
    this.seq++;
    o.counters.generated++;
    o.hooks.onFix?.(fix);
    for (const msg of o.reporter.report(fix)) this.publish(msg);
  }

  /** Sends what a coverage gap still holds, waits for the acknowledgements (or the deadline), disconnects. */
  async stop(deadline: number): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    // a refused client has ended already; MQTT.js must not be asked to end it twice
    if (this.refused) return;
    const client = this.client;
    this.connect();
    for (const msg of this.o.reporter.flush()) this.publish(msg);
    while (this.pending > 0 && Date.now() < deadline && !this.refused) await sleep(50);
    if (this.refused) return;
    const force = this.pending > 0 || !this.connected;
    await new Promise<void>((resolve) => client.end(force, {}, () => resolve()));
  }

  private publish(msg: OutgoingMessage): void {
    const { counters, hooks, qos } = this.o;
    const client = this.client;
    const n = msg.fixes.length;
    if (msg.kind === "duplicate") counters.duplicates += n;
    else counters.sent += n;
    if (msg.kind === "backlog" && msg.topic.endsWith("/locations")) counters.batches++;
    hooks.onMessage?.(msg);
    this.pending++;
    counters.inflight++;
    client.publish(msg.topic, msg.payload, { qos }, (err) => {
      this.pending--;
      counters.inflight--;
      if (err) {
        counters.publishErrors++;
        hooks.onError?.(this.o.vehicleId, err);
        return;
      }
      counters.messagesAcked++;
      if (msg.kind !== "duplicate") counters.acked += n;
      hooks.onAck?.(msg);
    });
  }

  private recordedAt(k: number): number {
    const t = this.o.firstAt + k * this.o.intervalMs;
    return this.o.wholeSeconds ? Math.floor(t / 1000) * 1000 : Math.round(t);
  }
}

/** ±25 %: trucks dropped together (a broker restart) do not all come back in the same instant */
function jitter(ms: number): number {
  return Math.round(ms * (0.75 + Math.random() * 0.5));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
