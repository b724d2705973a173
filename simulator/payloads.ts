import type { EncodableRecord } from "./teltonika-codec8.ts";
import type { TruckReading } from "./truck.ts";

/** One generated fix: a reading stamped with its time and the device's message id. */
export interface SimFix {
  vehicleId: string;
  /** epoch ms, UTC */
  recordedAt: number;
  messageId: string;
  reading: TruckReading;
}

export type WireFormat = "native" | "owntracks" | "teltonika" | "osmand";

/** The native fix (README.md, "Devices": the native fix): recordedAt as epoch milliseconds. */
export function nativeFix(fix: SimFix): Record<string, unknown> {
  const r = fix.reading;
  return {
    lat: r.lat,
    lng: r.lng,
    recordedAt: fix.recordedAt,
    speed: r.speed,
    heading: r.heading,
    altitude: r.altitude,
    accuracy: r.accuracy,
    ignition: r.ignition,
    odometer: r.odometer,
    messageId: fix.messageId,
  };
}

/**
 * An OwnTracks location message (owntracks.org booklet, "JSON"): tst in epoch seconds, vel in
 * km/h, cog in degrees; like the app, numeric fields that are zero are left out.
 */
export function ownTracksLocation(fix: SimFix, tid: string, battery: number): Record<string, unknown> {
  const r = fix.reading;
  const msg: Record<string, unknown> = {
    _type: "location",
    lat: r.lat,
    lon: r.lng,
    tst: Math.floor(fix.recordedAt / 1000),
    tid,
  };
  const optional: [string, number][] = [
    ["vel", Math.round(r.speed)],
    ["cog", Math.round(r.heading) % 360],
    ["alt", Math.round(r.altitude)],
    ["acc", Math.round(r.accuracy)],
    ["batt", Math.round(battery)],
  ];
  for (const [key, value] of optional) if (value !== 0) msg[key] = value;
  return msg;
}

/** `owntracks/{vehicleId}/{device}` (docs/architecture.md, "Contracts"); the fleet/ topics are core/topics.ts. */
export function ownTracksTopic(vehicleId: string, device: string): string {
  return `owntracks/${vehicleId}/${device}`;
}

/**
 * One Codec 8E AVL record as an FMB tracker writes it: speed km/h and heading as whole numbers,
 * IO 239 ignition, 240 movement, 16 total odometer (metres).
 */
export function teltonikaRecord(fix: SimFix): EncodableRecord {
  const r = fix.reading;
  return {
    timestamp: fix.recordedAt,
    lat: r.lat,
    lng: r.lng,
    altitude: Math.round(r.altitude),
    angle: Math.round(r.heading) % 360,
    satellites: 11,
    speed: Math.round(r.speed),
    io: [
      { id: 239, size: 1, value: r.ignition ? 1 : 0 },
      { id: 240, size: 1, value: r.speed > 0 ? 1 : 0 },
      { id: 16, size: 4, value: Math.round(r.odometer * 1000) },
    ],
  };
}

/**
 * The JSON body Traccar Client 9+ POSTs for one location (its location SDK's shape; speed m/s,
 * battery level 0..1), naming the device by its key in `device_id`.
 */
export function osmAndLocation(fix: SimFix, deviceKey: string, battery: number): Record<string, unknown> {
  const r = fix.reading;
  return {
    location: {
      timestamp: new Date(fix.recordedAt).toISOString(),
      coords: {
        latitude: r.lat,
        longitude: r.lng,
        accuracy: r.accuracy,
        speed: r.speed / 3.6,
        heading: r.heading,
        altitude: r.altitude,
      },
      is_moving: r.speed > 0,
      event: "motionchange",
      battery: { level: Math.round(battery) / 100, is_charging: r.ignition },
      activity: { type: r.speed > 0 ? "in_vehicle" : "still" },
      extras: {},
    },
    device_id: deviceKey,
  };
}
