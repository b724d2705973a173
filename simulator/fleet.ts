import type { IClientOptions } from "mqtt";
import { clientIdFor } from "../core/client-id.ts";
import { type Backoff, Device, type FleetCounters, type FleetHooks, type Tracker } from "./device.ts";
import { OsmAndDevice } from "./osmand-device.ts";
import { createRandom } from "./random.ts";
import { DEFAULT_DUPLICATE_CHANCE, DEFAULT_GAPS, type GapOptions, Reporter } from "./reporter.ts";
import { loadRoadNetwork, type RoadNetwork } from "./road-network.ts";
import { TeltonikaTcpDevice } from "./teltonika-tcp-device.ts";
import { Truck } from "./truck.ts";

export type { FleetHooks } from "./device.ts";

export interface VehicleCredentials {
  id: string;
  username: string;
  password: string;
  /** the OsmAnd device key (--protocol osmand); absent in files of older simulators */
  deviceKey?: string | undefined;
  /** the IMEI registered on the vehicle (--protocol teltonika-*) */
  imei?: string | undefined;
}

/**
 * How the trucks talk to the platform: native JSON over MQTT (OwnTracks for the first --owntracks
 * trucks), Teltonika Codec 8E over TCP or over MQTT on {imei}/data, or Traccar Client's OsmAnd
 * JSON over HTTP.
 */
export const PROTOCOLS = ["native", "teltonika-tcp", "teltonika-mqtt", "osmand"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export interface FleetOptions {
  /** mqtt://host:port (or ws://, mqtts://); tcp://host:TELTONIKA_TCP_PORT; http://host:OSMAND_PORT */
  url: string;
  /** default native */
  protocol?: Protocol;
  /** one truck per entry */
  vehicles: VehicleCredentials[];
  seed?: number | string;
  /** fixes per second per truck (default 0.2: one fix every 5 s) */
  rate?: number;
  qos?: 0 | 1;
  keepalive?: number;
  /** true for DEFAULT_GAPS */
  coverageGaps?: boolean | GapOptions;
  /** true for DEFAULT_DUPLICATE_CHANCE, or the chance itself */
  duplicates?: boolean | number;
  /** this many trucks (the first ones) speak OwnTracks instead of the native format */
  owntracks?: number;
  /** stop generating after this many fixes in total */
  maxFixes?: number;
  /** wall-clock time of the first fix (default now) */
  startAt?: number;
  network?: RoadNetwork;
  /** new MQTT connections per second while the fleet starts (default 500) */
  connectRate?: number;
  gpsNoiseM?: number;
  /** after the vehicle id and ":" in each client id (core/client-id.ts); default "sim" */
  clientIdSuffix?: string;
  reconnect?: Backoff;
  /** extra MQTT.js options for every client (tests) */
  mqtt?: Partial<IClientOptions>;
  hooks?: FleetHooks;
}

export interface FleetStats extends FleetCounters {
  trucks: number;
  connectedTrucks: number;
  /** fixes held in coverage gaps */
  buffered: number;
  /** publish + connection errors + refused logins */
  errors: number;
}

export interface Fleet {
  stats(): FleetStats;
  /** resolves when maxFixes have been generated */
  readonly finished: Promise<void>;
  /** stops generating fixes; the clients stay connected */
  stopGenerating(): void;
  /** stops generating, flushes gaps, waits up to drainMs for acknowledgements, disconnects */
  stop(drainMs?: number): Promise<FleetStats>;
}

const SCHEDULER_MS = 25;

/**
 * Runs N trucks in this process, each its own MQTT client, and counts what happens. The CLI
 * (main.ts) and a benchmark both drive this: pass credentials and a URL, read `stats()`.
 * Fix k of truck i is recorded at startAt + (i / N + k) * interval: the fleet's load is spread
 * evenly over each interval instead of arriving in bursts.
 */
export function startFleet(opts: FleetOptions): Fleet {
  const rate = opts.rate ?? 0.2;
  if (!(rate > 0 && rate <= 1000)) throw new RangeError(`rate must be in (0, 1000] fixes/s: ${rate}`);
  const network = opts.network ?? loadRoadNetwork();
  const root = createRandom(opts.seed ?? 1);
  const startAt = opts.startAt ?? Date.now();
  const gaps = opts.coverageGaps === true ? DEFAULT_GAPS : opts.coverageGaps || undefined;
  const duplicateChance =
    opts.duplicates === true
      ? DEFAULT_DUPLICATE_CHANCE
      : typeof opts.duplicates === "number"
        ? opts.duplicates
        : 0;
  const counters: FleetCounters = {
    generated: 0,
    sent: 0,
    duplicates: 0,
    batches: 0,
    acked: 0,
    messagesAcked: 0,
    inflight: 0,
    rejected: 0,
    publishErrors: 0,
    connectionErrors: 0,
    authRefused: 0,
    connects: 0,
    reconnects: 0,
    resent: 0,
  };
  const n = opts.vehicles.length;
  const protocol = opts.protocol ?? "native";
  const devices = opts.vehicles.map((v, i): Tracker => {
    const owntracks = protocol === "native" && i < (opts.owntracks ?? 0);
    // OwnTracks stamps whole seconds: at most one fix per second, or fixes would collide
    const intervalMs = owntracks ? Math.max(1000, 1000 / rate) : 1000 / rate;
    // each truck's streams depend on the seed and its id only, not on the fleet's size
    const rnd = root.fork(v.id);
    const format = owntracks
      ? "owntracks"
      : protocol === "native"
        ? "native"
        : protocol === "osmand"
          ? "osmand"
          : "teltonika";
    if ((format === "teltonika" && !v.imei) || (format === "osmand" && !v.deviceKey)) {
      throw new Error(
        `${v.id} has no ${format === "osmand" ? "device key" : "IMEI"} for --protocol ${protocol}`,
      );
    }
    const tracker = {
      url: opts.url,
      vehicleId: v.id,
      truck: new Truck({ network, random: rnd.fork("truck"), gpsNoiseM: opts.gpsNoiseM }),
      reporter: new Reporter({
        vehicleId: v.id,
        format,
        random: rnd.fork("reporter"),
        intervalMs,
        gaps,
        duplicateChance,
        imei: v.imei,
        deviceKey: v.deviceKey,
      }),
      intervalMs,
      firstAt: startAt + (i / n) * intervalMs,
      wholeSeconds: owntracks,
      counters,
      hooks: opts.hooks ?? {},
      backoff: opts.reconnect ?? { initialMs: 1000, maxMs: 30_000 },
    };
    if (protocol === "teltonika-tcp") return new TeltonikaTcpDevice({ ...tracker, imei: v.imei as string });
    if (protocol === "osmand") return new OsmAndDevice(tracker);
    return new Device({
      ...tracker,
      username: v.username,
      password: v.password,
      clientId: clientIdFor(v.id, opts.clientIdSuffix ?? "sim"),
      qos: opts.qos ?? 1,
      keepalive: opts.keepalive ?? 60,
      mqtt: opts.mqtt,
    });
  });

  let generating = true;
  let resolveFinished: () => void = () => {};
  const finished = new Promise<void>((r) => {
    resolveFinished = r;
  });
  const maxFixes = opts.maxFixes ?? Number.POSITIVE_INFINITY;

  // connect gradually: a connect storm of thousands of CONNECTs helps nobody
  const connectRate = opts.connectRate ?? 500;
  let started = 0;
  const startSome = () => {
    const batch = Math.max(1, Math.round((connectRate * SCHEDULER_MS) / 1000));
    for (let k = 0; k < batch && started < devices.length; k++) devices[started++]?.connect();
  };

  const scheduler = setInterval(() => {
    if (started < devices.length) startSome();
    if (!generating) return;
    const now = Date.now();
    for (const d of devices) {
      // a truck the broker refused (bad credentials) is off the road
      while (d.active && d.nextDueAt <= now) {
        if (counters.generated >= maxFixes) {
          stopGenerating();
          resolveFinished();
          return;
        }
        d.tick();
      }
    }
  }, SCHEDULER_MS);
  startSome();

  function stopGenerating(): void {
    generating = false;
  }

  function stats(): FleetStats {
    let connectedTrucks = 0;
    let buffered = 0;
    for (const d of devices) if (d.connected) connectedTrucks++;
    for (const d of devices) buffered += d.buffered;
    return {
      ...counters,
      trucks: n,
      connectedTrucks,
      buffered,
      errors: counters.publishErrors + counters.connectionErrors + counters.authRefused,
    };
  }

  return {
    stats,
    finished,
    stopGenerating,
    async stop(drainMs = 15_000) {
      stopGenerating();
      clearInterval(scheduler);
      // a device not dialled yet (a run shorter than the connect ramp) dials now to deliver its queue
      const deadline = Date.now() + drainMs;
      await Promise.all(devices.map((d) => d.stop(deadline)));
      resolveFinished();
      return stats();
    },
  };
}
