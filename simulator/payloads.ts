import type { TruckReading } from "./truck.ts";

/** One generated fix: a reading stamped with its time and the device's message id. */
export interface SimFix {
  vehicleId: string;
  /** epoch ms, UTC */
  recordedAt: number;
  messageId: string;
  reading: TruckReading;
}

export type WireFormat = "native" | "owntracks";

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
