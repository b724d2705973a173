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
  /** store-and-forward uploads (fleet/{id}/locations arrays, AVL packets of a backlog) */
  batches: number;
  /** fixes whose first publish was acknowledged (PUBACK at QoS 1, written to the socket at QoS 0) */
  acked: number;
  messagesAcked: number;
  inflight: number;
  /** rejects the platform reported (on fleet/{id}/errors; an OsmAnd 400) */
  rejected: number;
  publishErrors: number;
  connectionErrors: number;
  authRefused: number;
  connects: number;
  reconnects: number;
  /** messages sent again because no acknowledgement came (MQTT.js on a new connection, TCP, HTTP) */
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

/** A truck's fix schedule (fix-source.ts). */
export interface FixSourceOptions {
  vehicleId: string;
  truck: Truck;
  intervalMs: number;
  /** wall-clock time of the first fix; fix k is recorded at firstAt + k * intervalMs */
  firstAt: number;
  /** OwnTracks carries whole seconds: stamp fixes so that nothing is lost to rounding */
  wholeSeconds: boolean;
  counters: FleetCounters;
  hooks: FleetHooks;
}

/** What every simulated tracker needs, whatever carries its fixes. */
export interface TrackerOptions extends FixSourceOptions {
  /** where it sends: mqtt://, tcp:// (Teltonika) or http:// (OsmAnd) */
  url: string;
  reporter: Reporter;
  backoff: Backoff;
}

/** A simulated tracker as the fleet drives it (MQTT here; teltonika-tcp-device.ts, osmand-device.ts). */
export interface Tracker {
  readonly vehicleId: string;
  readonly active: boolean;
  readonly connected: boolean;
  readonly buffered: number;
  readonly nextDueAt: number;
  connect(): void;
  tick(): void;
  stop(deadline: number): Promise<void>;
}
