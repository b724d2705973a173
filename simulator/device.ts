import mqtt, { type ErrorWithReasonCode, type IClientOptions, type MqttClient } from "mqtt";
import { topics } from "../core/topics.ts";
import { accountSend, jitter, sleep } from "./fix-source.ts";
import type { OutgoingMessage } from "./reporter.ts";
import type { TrackerOptions } from "./tracker.ts";
import { TrackerBase } from "./tracker-base.ts";

export type { Backoff, FleetCounters, FleetHooks, Tracker, TrackerOptions } from "./tracker.ts";

export interface DeviceOptions extends TrackerOptions {
  username: string;
  password: string;
  clientId: string;
  qos: 0 | 1;
  keepalive: number;
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
export class Device extends TrackerBase<DeviceOptions> {
  private readonly client: MqttClient;
  private period: number;
  private dialled = false;
  /** publishes awaiting their acknowledgement */
  private pending = 0;
  /** packet ids sent and not yet acknowledged (to count resends) */
  private readonly unacked = new Set<number>();
  connected = false;

  constructor(opts: DeviceOptions) {
    super(opts);
    this.period = opts.backoff.initialMs;
    this.client = this.createClient();
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

  /** Sends what a coverage gap still holds, waits for the acknowledgements (or the deadline), disconnects. */
  async stop(deadline: number): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    // a refused client has ended already; MQTT.js must not be asked to end it twice
    if (this.refused) return;
    const client = this.client;
    this.connect();
    for (const msg of this.o.reporter.flush()) this.send(msg);
    while (this.pending > 0 && Date.now() < deadline && !this.refused) await sleep(50);
    if (this.refused) return;
    const force = this.pending > 0 || !this.connected;
    await new Promise<void>((resolve) => client.end(force, {}, () => resolve()));
  }

  protected send(msg: OutgoingMessage): void {
    const done = accountSend(this.vehicleId, this.o.counters, this.o.hooks, msg);
    this.pending++;
    this.client.publish(msg.topic, msg.payload, { qos: this.o.qos }, (err) => {
      this.pending--;
      done(err ? { ok: false, error: err } : { ok: true });
    });
  }
}
