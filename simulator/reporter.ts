import { topics } from "../core/topics.ts";
import {
  nativeFix,
  osmAndLocation,
  ownTracksLocation,
  ownTracksTopic,
  type SimFix,
  teltonikaRecord,
  type WireFormat,
} from "./payloads.ts";
import type { Random } from "./random.ts";
import { encodeAvlPacket } from "./teltonika-codec8.ts";

/** Coverage gaps ("tunnels"): how often a moving truck loses coverage, and for how long. */
export interface GapOptions {
  /** mean seconds of reporting between two gaps */
  meanEveryS: number;
  minS: number;
  maxS: number;
}

export const DEFAULT_GAPS: GapOptions = { meanEveryS: 180, minS: 20, maxS: 90 };
/** share of live messages sent twice with --duplicates (a modem resending after a lost PUBACK) */
export const DEFAULT_DUPLICATE_CHANCE = 0.05;
/** fixes per store-and-forward upload; the bridge accepts up to 5,000 per message */
const MAX_BATCH = 500;
/** records per AVL packet: its record count is one byte */
const MAX_AVL_RECORDS = 255;

export interface ReporterOptions {
  vehicleId: string;
  format: WireFormat;
  random: Random;
  /** time between two fixes */
  intervalMs: number;
  gaps?: GapOptions | undefined;
  duplicateChance?: number | undefined;
  /** the {device} level of an OwnTracks topic */
  ownTracksDevice?: string | undefined;
  /** teltonika: the IMEI its topic ({imei}/data) names */
  imei?: string | undefined;
  /** osmand: the device key its JSON names */
  deviceKey?: string | undefined;
}

export type MessageKind = "live" | "backlog" | "duplicate";

export interface OutgoingMessage {
  /** the MQTT topic (a Teltonika packet over TCP and an OsmAnd request carry it unused) */
  topic: string;
  /** JSON text, or a binary Codec 8E packet */
  payload: string | Buffer;
  /** the fixes this message carries (for a duplicate: the fixes it repeats) */
  fixes: SimFix[];
  kind: MessageKind;
}

/**
 * What a tracker sends for each fix, as a pure decision (no I/O, no clock): the live message,
 * or nothing while in a coverage gap. When coverage returns, the live fix goes first and the
 * buffered fixes follow as ONE `fleet/{id}/locations` array, so the platform sees late,
 * out-of-order data exactly as a store-and-forward modem produces it. OwnTracks and OsmAnd have
 * no batch message: their backlog is replayed one message per fix, as the apps do; a Teltonika
 * tracker sends its backlog as AVL packets of up to 255 records.
 */
export class Reporter {
  private readonly o: ReporterOptions;
  private readonly tid: string;
  private backlog: SimFix[] = [];
  private gapLeftMs = 0;
  private battery: number;

  constructor(opts: ReporterOptions) {
    this.o = opts;
    this.tid = opts.vehicleId.slice(-2);
    this.battery = opts.random.range(40, 100);
  }

  /** fixes held back by a coverage gap */
  get buffered(): number {
    return this.backlog.length;
  }

  get inGap(): boolean {
    return this.gapLeftMs > 0;
  }

  report(fix: SimFix): OutgoingMessage[] {
    const { random, gaps, intervalMs } = this.o;
    this.chargeBattery(fix, intervalMs / 1000);
    const moving = fix.reading.speed > 0;
    // coverage that has just come back delivers the backlog before another gap can begin
    const recovering = this.backlog.length > 0;
    if (!this.inGap && !recovering && gaps && moving && random.chance(intervalMs / 1000 / gaps.meanEveryS)) {
      this.gapLeftMs = random.range(gaps.minS, gaps.maxS) * 1000;
    }
    if (this.inGap) {
      this.backlog.push(fix);
      this.gapLeftMs -= intervalMs;
      return [];
    }
    const live = this.encode([fix], "live");
    const out = [...live];
    if (random.chance(this.o.duplicateChance ?? 0)) {
      for (const m of live) out.push({ ...m, kind: "duplicate" });
    }
    out.push(...this.flush());
    return out;
  }

  /** Sends whatever the gap held back (coverage is back, or the run is ending). */
  flush(): OutgoingMessage[] {
    const held = this.backlog;
    this.backlog = [];
    this.gapLeftMs = 0;
    const out: OutgoingMessage[] = [];
    const format = this.o.format;
    if (format === "owntracks" || format === "osmand")
      return held.flatMap((f) => this.encode([f], "backlog"));
    const chunk = format === "teltonika" ? MAX_AVL_RECORDS : MAX_BATCH;
    for (let i = 0; i < held.length; i += chunk) {
      out.push(...this.encode(held.slice(i, i + chunk), "backlog"));
    }
    return out;
  }

  private encode(fixes: SimFix[], kind: MessageKind): OutgoingMessage[] {
    const id = this.o.vehicleId;
    if (this.o.format === "owntracks") {
      return fixes.map((f) => ({
        topic: ownTracksTopic(id, this.o.ownTracksDevice ?? "phone"),
        payload: JSON.stringify(ownTracksLocation(f, this.tid, this.battery)),
        fixes: [f],
        kind,
      }));
    }
    if (this.o.format === "teltonika") {
      const imei = this.o.imei ?? "";
      const packet = encodeAvlPacket(0x8e, fixes.map(teltonikaRecord));
      return [{ topic: topics.teltonika(imei), payload: packet, fixes, kind }];
    }
    if (this.o.format === "osmand") {
      return fixes.map((f) => ({
        topic: "",
        payload: JSON.stringify(osmAndLocation(f, this.o.deviceKey ?? "", this.battery)),
        fixes: [f],
        kind,
      }));
    }
    if (kind === "backlog") {
      return [{ topic: topics.locations(id), payload: JSON.stringify(fixes.map(nativeFix)), fixes, kind }];
    }
    return fixes.map((f) => ({
      topic: topics.location(id),
      payload: JSON.stringify(nativeFix(f)),
      fixes: [f],
      kind,
    }));
  }

  /** A phone in a cradle: charging while the ignition is on, draining while parked. */
  private chargeBattery(fix: SimFix, seconds: number): void {
    const rate = fix.reading.ignition ? 0.02 : -0.005;
    this.battery = Math.min(100, Math.max(5, this.battery + rate * seconds));
  }
}
