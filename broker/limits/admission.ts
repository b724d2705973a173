import type { Client, ConnectPacket } from "aedes";
import type { HoldCap } from "../../bridge/hold-cap.ts";
import type { Config } from "../../core/config.ts";
import type { Logger } from "../../core/logger.ts";
import type { Refusals } from "../refusals.ts";
import { createConnectLimit } from "./connect-limit.ts";
import { HeldLimit } from "./held-limit.ts";
import { createLoadShed, type ShedMeasures } from "./load-shed.ts";
import { limitPacketSize } from "./packet-size-limit.ts";
import { RateLimitedError, RateLimiter } from "./rate-limit.ts";
import { limitSubscriberBuffer } from "./subscriber-buffer-limit.ts";

/** Longest client id, for MQTT 3.1.1 too (Aedes checks it for 3.1 only: maxClientsIdLength). */
export const MAX_CLIENT_ID_LENGTH = 128;

/**
 * Source addresses whose connect rate is remembered at once (limits/address-limit.ts): a bucket
 * refills within a second, so only the addresses of the last moments matter; ~1.5 MB at most.
 */
export const MAX_CONNECT_ADDRESSES = 10_000;

export interface AdmissionDeps {
  config: Pick<
    Config,
    | "DEVICE_RATE_LIMIT"
    | "DEVICE_RATE_BURST"
    | "COMMAND_ACK_RATE"
    | "COMMAND_ACK_BURST"
    | "MQTT_MAX_HELD_PER_CONNECTION"
    | "MQTT_MAX_HELD"
    | "MQTT_MAX_PACKET_BYTES"
    | "MQTT_CONNECT_RATE"
    | "MQTT_CONNECT_RATE_PER_ADDRESS"
    | "MQTT_MAX_PENDING_AUTH"
    | "MQTT_MAX_SUBSCRIBER_BUFFER_BYTES"
    | "BROKER_SHED_LOOP_DELAY_MS"
    | "BROKER_SHED_HELD"
    | "BROKER_SHED_QUEUE_MS"
    | "BROKER_SHED_DISCONNECT_MS"
    | "BROKER_SHED_RESUME_PERCENT"
  >;
  /** the process's hold cap (the bridge's: bridge/hold-cap.ts); a message waiting past it is refused */
  holdCap: HoldCap;
  /** counts what the rate limits refuse (refusals.ts) */
  refusals: Refusals;
  /** age of the oldest message the bridge holds for the queue, ms (bridge.queueLatencyMs) */
  queueLatencyMs: () => number;
  /** shedding started or stopped (for the metrics: load-shed.ts counts) */
  onShedding?: (shedding: boolean) => void;
  log: Logger;
}

/** How often the shedding measures are taken, and the least time shedding lasts once started. */
export const SHED_INTERVAL_MS = 250;
export const SHED_MIN_MS = 1000;

export type Admission = ReturnType<typeof createAdmission>;

/**
 * Every limit the broker puts on a client, in the order the client meets them:
 *   the whole broker   → while overloaded (event-loop delay, held messages, the bridge's queue
 *                        latency at a BROKER_SHED_* threshold) no socket is read and every
 *                        CONNECT is answered CONNACK 3, until the measures fall back; a client
 *                        not read for BROKER_SHED_DISCONNECT_MS is disconnected (load-shed.ts)
 *   CONNECT            → connect rate per source address then overall, authentications in
 *                        progress, client id length (connect-limit.ts): CONNACK 3 or 2, before
 *                        any credential lookup
 *   every packet       → its declared size (packet-size-limit.ts): connection closed
 *   as a subscriber    → bytes left unsent (subscriber-buffer-limit.ts): disconnected
 *   an ingest publish  → 1. the device's rate limit, in fixes (a message costs its fixes and
 *                           rejects): its PUBACK is delayed by up to half the hold cap; one that
 *                           would wait longer is refused with RateLimitedError (rate-limit.ts)
 *                        2. the held ceilings, per connection then in total (held-limit.ts)
 *   a command answer   → the device's answer rate limit, the same way: its own bucket, so that
 *                        answers cannot flood the database the credential lookups also use
 * A publish waits with its callback held, so Aedes does not read that socket meanwhile; one
 * refused, or waiting past the hold cap (HoldCapError), gets no PUBACK: the connection is closed
 * and the device resends.
 */
export function createAdmission(deps: AdmissionDeps) {
  const { config, holdCap, refusals, log } = deps;
  const held = new HeldLimit({
    perConnection: config.MQTT_MAX_HELD_PER_CONNECTION,
    total: config.MQTT_MAX_HELD,
    holdCap,
  });
  const round = (m: ShedMeasures) => ({
    loopDelayMs: Math.round(m.loopDelayMs),
    held: m.held,
    queueMs: Math.round(m.queueMs),
  });
  let refusedBefore = 0;
  const shed = createLoadShed({
    thresholds: {
      loopDelayMs: config.BROKER_SHED_LOOP_DELAY_MS,
      held: config.BROKER_SHED_HELD,
      queueMs: config.BROKER_SHED_QUEUE_MS,
    },
    resumeRatio: config.BROKER_SHED_RESUME_PERCENT / 100,
    measure: () => ({ held: held.held + held.waiting, queueMs: deps.queueLatencyMs() }),
    intervalMs: SHED_INTERVAL_MS,
    minShedMs: SHED_MIN_MS,
    disconnectAfterMs: config.BROKER_SHED_DISCONNECT_MS,
    // the disconnect count reaches the metrics while shedding lasts, not only when it stops
    onDisconnect: () => deps.onShedding?.(true),
    onStart: (m) => {
      refusedBefore = connect.refused.shedding;
      log.warn(
        { ...round(m), clients: shed.pausedNow },
        "overloaded: shedding load (sockets not read, CONNECTs refused with CONNACK 3)",
      );
      deps.onShedding?.(true);
    },
    onStop: (m) => {
      const refused = connect.refused.shedding - refusedBefore;
      log.info(
        { ...round(m), paused: m.paused, disconnected: m.disconnected, refused, ms: m.ms },
        "shedding stopped: sockets read again",
      );
      deps.onShedding?.(false);
    },
  });
  const connect = createConnectLimit({
    shedding: () => shed.shedding,
    ratePerSecond: config.MQTT_CONNECT_RATE,
    ratePerAddress: config.MQTT_CONNECT_RATE_PER_ADDRESS,
    maxAddresses: MAX_CONNECT_ADDRESSES,
    onAddressRefused: (address) =>
      log.warn(
        { address },
        "connects from one address above MQTT_CONNECT_RATE_PER_ADDRESS: CONNACK 3 until it slows down",
      ),
    maxPending: config.MQTT_MAX_PENDING_AUTH,
    maxClientIdLength: MAX_CLIENT_ID_LENGTH,
  });
  const rate = new RateLimiter({
    ratePerSecond: config.DEVICE_RATE_LIMIT,
    burst: config.DEVICE_RATE_BURST,
    maxDelayMs: Math.floor(holdCap.ms / 2),
  });
  let closed = false;
  const answers = new RateLimiter({
    ratePerSecond: config.COMMAND_ACK_RATE,
    burst: config.COMMAND_ACK_BURST,
    maxDelayMs: Math.floor(holdCap.ms / 2),
  });
  /** Waits out the rate limit's delay, or throws RateLimitedError (counted, logged) when it refuses. */
  async function waitFor(
    limiter: RateLimiter,
    cause: "fix_rate" | "ack_rate",
    vehicleId: string,
    cost: number,
  ) {
    const wait = limiter.reserve(vehicleId, cost);
    if (wait === undefined) {
      refusals.count(cause);
      log.warn(
        { vehicleId, cost },
        `${cause === "fix_rate" ? "fix" : "command answer"} rate limit exceeded: refused, no PUBACK`,
      );
      throw new RateLimitedError(`${vehicleId}: ${cause} limit exceeded`);
    }
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // the broker closed meanwhile (its pool may be gone): the message is not admitted, no PUBACK
    if (closed) throw new RateLimitedError(`${vehicleId}: broker closing`);
  }

  return {
    /** preConnect, first: takes a connect-rate token (a client without one is refused in authenticate) */
    takeConnectToken(client: Client, packet: ConnectPacket): void {
      connect.preConnect(client, packet);
    },
    /** wraps the authenticate hook with the connect-storm refusals */
    authenticate: connect.authenticate,
    /**
     * a new connection, before a byte is read: a packet declaring more than MQTT_MAX_PACKET_BYTES
     * closes it; its reads go through the shedding gate
     */
    limitConnection: (client: Client): Client =>
      shed.gate(limitPacketSize(client, config.MQTT_MAX_PACKET_BYTES)),
    /** a client connected (CONNACK sent) or gone: paused while the broker sheds load */
    connected: shed.connected,
    disconnected: shed.disconnected,
    shedding: shed,
    /** preConnect, after the delivery functions are final: a subscriber that stops reading is dropped */
    limitSubscriberBuffer(client: Client): void {
      limitSubscriberBuffer(client, config.MQTT_MAX_SUBSCRIBER_BUFFER_BYTES, (c, unsent) =>
        log.warn(
          { clientId: c.id, unsent },
          "subscriber not reading: disconnected (MQTT_MAX_SUBSCRIBER_BUFFER_BYTES)",
        ),
      );
    },
    /**
     * Waits until an ingest publish of `cost` fixes may enter the bridge; resolves with the release
     * to call once it has settled, or rejects (RateLimitedError, HoldCapError).
     */
    async admit(client: Client, vehicleId: string, receivedAt: number, cost = 1): Promise<() => void> {
      await waitFor(rate, "fix_rate", vehicleId, cost);
      return held.acquire(client, receivedAt);
    },
    /** Waits until a command answer may be recorded, or rejects with RateLimitedError. */
    admitAnswer: (vehicleId: string): Promise<void> => waitFor(answers, "ack_rate", vehicleId, 1),
    stats: () => ({
      held: held.held,
      waiting: held.waiting,
      rateDelayed: rate.delayed,
      pendingAuth: connect.pending,
      shedding: shed.shedding,
    }),
    heldBy: (client: Client) => held.heldBy(client),
    refused: connect.refused,
    close(): void {
      closed = true;
      shed.close();
      rate.close();
      answers.close();
    },
  };
}
