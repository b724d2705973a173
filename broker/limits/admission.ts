import type { Client, ConnectPacket } from "aedes";
import type { HoldCap } from "../../bridge/hold-cap.ts";
import type { Config } from "../../core/config.ts";
import type { Logger } from "../../core/logger.ts";
import { createConnectLimit } from "./connect-limit.ts";
import { HeldLimit } from "./held-limit.ts";
import { limitPacketSize } from "./packet-size-limit.ts";
import { RateLimiter } from "./rate-limit.ts";
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
    | "MQTT_MAX_HELD_PER_CONNECTION"
    | "MQTT_MAX_HELD"
    | "MQTT_MAX_PACKET_BYTES"
    | "MQTT_CONNECT_RATE"
    | "MQTT_CONNECT_RATE_PER_ADDRESS"
    | "MQTT_MAX_PENDING_AUTH"
    | "MQTT_MAX_SUBSCRIBER_BUFFER_BYTES"
  >;
  /** the process's hold cap (the bridge's: bridge/hold-cap.ts); a message waiting past it is refused */
  holdCap: HoldCap;
  log: Logger;
}

export type Admission = ReturnType<typeof createAdmission>;

/**
 * Every limit the broker puts on a client, in the order the client meets them:
 *   CONNECT            → connect rate per source address then overall, authentications in
 *                        progress, client id length (connect-limit.ts): CONNACK 3 or 2, before
 *                        any credential lookup
 *   every packet       → its declared size (packet-size-limit.ts): connection closed
 *   as a subscriber    → bytes left unsent (subscriber-buffer-limit.ts): disconnected
 *   an ingest publish  → 1. the device's rate limit: its PUBACK is delayed (never dropped) by up
 *                           to half the hold cap (rate-limit.ts)
 *                        2. the held ceilings, per connection then in total (held-limit.ts)
 * An ingest publish waits with its callback held, so Aedes does not read that socket meanwhile;
 * one waiting past the hold cap is refused with HoldCapError (no PUBACK, the device resends).
 */
export function createAdmission(deps: AdmissionDeps) {
  const { config, holdCap, log } = deps;
  const connect = createConnectLimit({
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
  const held = new HeldLimit({
    perConnection: config.MQTT_MAX_HELD_PER_CONNECTION,
    total: config.MQTT_MAX_HELD,
    holdCap,
  });

  return {
    /** preConnect, first: takes a connect-rate token (a client without one is refused in authenticate) */
    takeConnectToken(client: Client, packet: ConnectPacket): void {
      connect.preConnect(client, packet);
    },
    /** wraps the authenticate hook with the connect-storm refusals */
    authenticate: connect.authenticate,
    /** a new connection: a packet declaring more than MQTT_MAX_PACKET_BYTES closes it */
    limitPacketSize: (client: Client): Client => limitPacketSize(client, config.MQTT_MAX_PACKET_BYTES),
    /** preConnect, after the delivery functions are final: a subscriber that stops reading is dropped */
    limitSubscriberBuffer(client: Client): void {
      limitSubscriberBuffer(client, config.MQTT_MAX_SUBSCRIBER_BUFFER_BYTES, (c, unsent) =>
        log.warn(
          { clientId: c.id, unsent },
          "subscriber not reading: disconnected (MQTT_MAX_SUBSCRIBER_BUFFER_BYTES)",
        ),
      );
    },
    /** Waits until an ingest publish may enter the bridge; resolves with the release to call once it has settled. */
    async admit(client: Client, vehicleId: string, receivedAt: number): Promise<() => void> {
      const wait = rate.reserve(vehicleId);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      return held.acquire(client, receivedAt);
    },
    stats: () => ({
      held: held.held,
      waiting: held.waiting,
      rateDelayed: rate.delayed,
      pendingAuth: connect.pending,
    }),
    heldBy: (client: Client) => held.heldBy(client),
    refused: connect.refused,
    close(): void {
      rate.close();
    },
  };
}
