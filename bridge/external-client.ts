import mqtt, { type IPublishPacket, type MqttClient } from "mqtt";
import type { Logger } from "../core/logger.ts";
import { parseImeiTopic, parseIngestTopic, topics } from "../core/topics.ts";
import type { IncomingMessage, IngestOutcome } from "./bridge.ts";
import type { ResolveImei } from "./imei-resolver.ts";

/** Graceful stop: how long to wait for the broker's last deliveries after leaving the group */
const DRAIN_QUIET_MS = 300;
/** …and at most, within a container's default 10 s stop grace period */
const DRAIN_CAP_MS = 8000;

/** MQTT 5 shared-subscription group: the broker hands each message to one member connection. */
export const SHARE_GROUP = "logitrack";

/**
 * Filters covering every device → platform fix topic of core/topics.ts (`ownIngestKind`). A kind
 * added there needs its filter here, or the external broker never hands it to a bridge
 * (test/scale/external-broker.test.ts has a sample topic per IngestKind, checked against these).
 * OwnTracks' sub-topics the adapter does not take are acknowledged and dropped by the bridge.
 */
export const INGEST_FILTERS = [
  "fleet/+/location",
  "fleet/+/locations",
  "owntracks/+/+",
  "owntracks/+/+/+",
  "+/data",
] as const;

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
  /** vehicle registered with an IMEI (Teltonika `{imei}/data`) */
  resolveImei: ResolveImei;
  /** counts messages no vehicle can be found for (unknown IMEI, foreign topic) */
  onUnroutable?: (topic: string) => void;
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
 * as soon as it holds a message from every connection: nothing else can arrive before a flush.
 * (Sealing whenever all K hold a message, some of them in batches still being queued, measured
 * 1 fix per job: the connections fall out of step and stay there.)
 *
 * Each connection has a stable client id and a persistent session (clean start off, a long
 * session expiry): a replica restarted with the same ids is sent again what it had not
 * acknowledged [MQTT-4.4.0-1]. Brokers such as Mosquitto do not hand a dead member's
 * unacknowledged messages to the other members of the group.
 *
 * The external broker authenticated the device and enforced its ACL; the vehicle id is taken
 * from the topic (or, for `{imei}/data`, from the vehicle registered with that IMEI).
 */
export function connectExternalBroker(opts: ExternalClientOptions): ExternalClient {
  const { log } = opts;
  let inflight = 0;
  /** messages handed to the bridge since this client last sealed the batch */
  let sinceFlush = 0;
  let closing = false;
  let lastMessageAt = 0;
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
    lastMessageAt = Date.now();
    if (closing) {
      // no PUBACK: the broker sends it again when this replica's session resumes
      callback(new Error("bridge is closing"));
      return;
    }
    const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
    const receivedAt = Date.now();
    inflight++;
    const ingesting = owner(packet.topic).then((found) => {
      if (!found) {
        // nothing to store it under (unknown IMEI, OwnTracks sub-topic): acknowledge and count
        log.debug({ topic: packet.topic }, "message with no vehicle to store it for; acknowledged");
        opts.onUnroutable?.(packet.topic);
        return { accepted: 0, rejects: [] } satisfies IngestOutcome;
      }
      const ingested = opts.ingest({
        ...found,
        topic: packet.topic,
        payload,
        receivedAt,
        messageId: `${idPrefix}-${(seq++).toString(36)}`,
      });
      sinceFlush++;
      // the open batch holds a message of every connection: nothing more can join it
      if (sinceFlush >= opts.connections && sinceFlush >= inflight) {
        sinceFlush = 0;
        void opts.flush();
      }
      return ingested;
    });
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

  /** The vehicle a topic names and the topic's ingest kind, classified here once for the bridge. */
  async function owner(
    topic: string,
  ): Promise<Pick<IncomingMessage, "vehicleId" | "imei" | "kind"> | undefined> {
    const named = parseIngestTopic(topic);
    if (named) return { vehicleId: named.vehicleId, kind: named.kind };
    const imei = parseImeiTopic(topic);
    if (imei === undefined) return undefined;
    const vehicleId = await opts.resolveImei(imei);
    return vehicleId === undefined ? undefined : { vehicleId, imei, kind: "teltonika" };
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
      // Leave the share group first, then take what the broker had already sent: a stopped
      // replica's session would otherwise keep receiving its share (Mosquitto queues it for an
      // offline member) until a replica with its ids returns or the session expires.
      const filters = INGEST_FILTERS.map((f) => `$share/${SHARE_GROUP}/${f}`);
      await within(
        DRAIN_CAP_MS,
        Promise.all(clients.filter((c) => c.connected).map((c) => c.unsubscribeAsync(filters))),
      );
      const drainUntil = Date.now() + DRAIN_CAP_MS;
      while (Date.now() < drainUntil && (inflight > 0 || Date.now() - lastMessageAt < DRAIN_QUIET_MS))
        await sleep(50);
      closing = true;
      // held messages are queued and acknowledged; later ones stay unacknowledged for the next start
      await opts.closeBridge();
      await within(DRAIN_CAP_MS, Promise.all(clients.map((c) => c.endAsync(false))));
      for (const c of clients) c.stream?.destroy();
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `work`, or give up waiting after `ms` (the work itself goes on) */
async function within(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => {}), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
