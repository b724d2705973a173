import mqtt, { type IPublishPacket, type MqttClient } from "mqtt";
import type { Logger } from "../core/logger.ts";
import { parseIngestTopic, topics } from "../core/topics.ts";
import type { IncomingMessage, IngestOutcome } from "./bridge.ts";

/** MQTT 5 shared-subscription group: the broker hands each message to one member connection. */
export const SHARE_GROUP = "logitrack";

/**
 * Every device → platform topic that `parseIngestTopic` (core/topics.ts) accepts, as a filter.
 * A topic added there must be added here, or the external broker never hands it to a bridge
 * (test/scale/external-broker.test.ts checks each filter parses as an ingest topic).
 */
export const INGEST_FILTERS = ["fleet/+/location", "fleet/+/locations"] as const;

export interface ExternalClientOptions {
  url: string;
  /** stable replica id: connection k uses client id `${bridgeId}-${k}` */
  bridgeId: string;
  connections: number;
  username?: string | undefined;
  password?: string | undefined;
  sessionExpiryS: number;
  keepaliveS: number;
  ingest: (msg: IncomingMessage) => Promise<IngestOutcome>;
  /** seals the open batch now (bridge.flush) */
  flush: () => Promise<void>;
  /** stops taking messages and queues what is held (bridge.close) */
  closeBridge: () => Promise<void>;
  log: Logger;
}

export interface ExternalClient {
  /** resolves once every connection holds its shared subscriptions */
  subscribed: Promise<void>;
  /** messages handed to the bridge and not yet acknowledged */
  readonly inflight: number;
  close(): Promise<void>;
}

/**
 * The bridge as a client of an external MQTT broker (EMQX, VerneMQ, HiveMQ, Mosquitto).
 *
 * MQTT.js parses a connection's packets one at a time and writes the PUBACK only after
 * `handleMessage` calls back; holding that callback until the bridge has queued the fix makes
 * the PUBACK mean "durable", as with the embedded broker. One connection then carries one
 * message per batch, so the stream is spread over K connections, and the open batch is sealed
 * as soon as all K hold a message (nothing else can arrive before a flush).
 *
 * Each connection has a stable client id and a persistent session (clean start off, a long
 * session expiry): a replica restarted with the same ids is sent again what it had not
 * acknowledged [MQTT-4.4.0-1]. Brokers such as Mosquitto do not hand a dead member's
 * unacknowledged messages to the other members of the group.
 *
 * The external broker authenticated the device and enforced its ACL; the vehicle id is taken
 * from the topic.
 */
export function connectExternalBroker(opts: ExternalClientOptions): ExternalClient {
  const { log } = opts;
  let inflight = 0;
  let closing = false;
  let seq = 0;
  const idPrefix = `${opts.bridgeId}-${Date.now().toString(36)}`;
  const clients: MqttClient[] = [];
  const subscriptions: Promise<void>[] = [];

  for (let k = 0; k < opts.connections; k++) {
    const clientId = `${opts.bridgeId}-${k}`;
    const client = mqtt.connect(opts.url, {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: opts.sessionExpiryS },
      keepalive: opts.keepaliveS,
      reconnectPeriod: 1000,
      // subscribed on every CONNACK below, with the SUBACK checked
      resubscribe: false,
      username: opts.username,
      password: opts.password,
    });
    clients.push(client);
    client.handleMessage = (packet, callback) => handle(client, packet, callback);
    client.on("error", (err) => log.warn({ clientId, err: err.message }, "external broker connection error"));
    client.on("offline", () => log.warn({ clientId }, "external broker connection lost; reconnecting"));
    subscriptions.push(
      new Promise<void>((resolve, reject) => {
        client.on("connect", (connack) => {
          subscribe(client).then(
            () => {
              log.info({ clientId, sessionPresent: connack.sessionPresent }, "external broker connected");
              resolve();
            },
            (err: Error) => {
              log.fatal({ clientId, err: err.message }, "subscription refused");
              reject(err);
            },
          );
        });
      }),
    );
  }

  async function subscribe(client: MqttClient): Promise<void> {
    const filters = INGEST_FILTERS.map((f) => `$share/${SHARE_GROUP}/${f}`);
    const granted = await client.subscribeAsync(filters, { qos: 1 });
    // SUBACK reason codes >= 0x80 are refusals, e.g. 0x9E "shared subscriptions not supported"
    const refused = granted.filter((g) => g.qos >= 0x80);
    if (refused.length > 0)
      throw new Error(
        `external broker refused ${refused.map((g) => `${g.topic} (0x${g.qos.toString(16)})`).join(", ")}`,
      );
  }

  function handle(client: MqttClient, packet: IPublishPacket, callback: (error?: Error) => void): void {
    if (closing) {
      // no PUBACK: the broker sends it again when this replica's session resumes
      callback(new Error("bridge is closing"));
      return;
    }
    const route = parseIngestTopic(packet.topic);
    if (!route) {
      log.warn({ topic: packet.topic }, "message on a topic that is not an ingest topic; acknowledged");
      callback();
      return;
    }
    const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
    inflight++;
    const ingesting = opts.ingest({
      vehicleId: route.vehicleId,
      topic: packet.topic,
      payload,
      receivedAt: Date.now(),
      messageId: `${idPrefix}-${(seq++).toString(36)}`,
    });
    // every connection holds a message: nothing more can arrive until this batch is queued
    if (inflight >= opts.connections) void opts.flush();
    ingesting.then(
      (outcome) => {
        inflight--;
        for (const r of outcome.rejects) {
          const body = JSON.stringify({
            reason: r.reason,
            detail: r.detail,
            messageId: r.messageId,
            topic: r.topic,
          });
          client.publish(topics.errors(r.vehicleId), body, { qos: 1 }, (err) => {
            if (err) log.debug({ vehicleId: r.vehicleId, err: err.message }, "error notice not published");
          });
        }
        callback();
      },
      (err: Error) => {
        inflight--;
        if (closing) return callback(err);
        // Held past HOLD_CAP_MS (queue unavailable): drop the connection without PUBACK; the broker
        // resends the message when the session resumes on reconnect.
        log.error({ clientId: client.options.clientId, err: err.message }, "ingest failed; reconnecting");
        client.stream?.destroy();
        callback(err);
      },
    );
  }

  const subscribed = Promise.all(subscriptions).then(() => {
    log.info({ connections: clients.length, filters: INGEST_FILTERS }, "bridge subscribed");
  });
  // a refused subscription is fatal for the process (handled by its entry point); never unhandled
  subscribed.catch(() => {});

  return {
    subscribed,
    get inflight() {
      return inflight;
    },
    async close() {
      closing = true;
      // held messages are queued and acknowledged; later ones stay unacknowledged for the next start
      await opts.closeBridge();
      await Promise.all(clients.map((c) => c.endAsync(false)));
    },
  };
}
