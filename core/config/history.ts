import { z } from "zod";
import { positiveInt } from "./fields.ts";

/** The stored history (partitions, retention) and what the worker derives from it. */
export const partitionVars = z.object({
  PARTITION_INTERVAL: z.enum(["day", "month"]).default("day").describe("vehicle_locations partition size"),
  PARTITIONS_AHEAD: positiveInt.max(400).default(7).describe("partitions created ahead of today"),
});

export const retentionVars = z.object({
  RETENTION_DAYS: positiveInt
    .default(90)
    .describe("history kept; older partitions are dropped, older fixes rejected"),
});

export const rejectRetentionVars = z.object({
  REJECTED_RETENTION_DAYS: positiveInt
    .default(30)
    .describe("rejected messages (the dead letter) kept; older rows are deleted by the hourly maintenance"),
});

export const fleetDayVars = z.object({
  FLEET_TZ: z
    .string()
    // PostgreSQL and Intl share the IANA names; a typo here would fail every batch, so refuse it at start
    .refine((tz) => isTimeZone(tz), { message: "not an IANA time zone name (e.g. Asia/Dubai)" })
    .default("Asia/Dubai")
    .describe("time zone of the fleet's day (analytics, reports)"),
});

export const derivationVars = z.object({
  MOVING_SPEED_KMH: z.coerce
    .number()
    .positive()
    .max(100)
    .default(5)
    .describe(
      "speed from which a fix counts as moving (trips, moving time); below it with ignition on: idle",
    ),
  STOP_MIN_SECONDS: positiveInt
    .default(300)
    .describe("standing still this long ends a trip (a stop); ignition off ends it at once"),
  TRIP_MIN_DISTANCE_M: z.coerce
    .number()
    .min(0)
    .default(100)
    .describe("shorter trips are GPS noise and are dropped (metres)"),
  SKEW_ANOMALY_S: positiveInt
    .default(600)
    .describe("a fix received this many seconds after its recordedAt is recorded as a skewed anomaly"),
  TRIP_GAP_SECONDS: positiveInt
    .default(600)
    .describe(
      "a silence longer than this between two fixes ends the trip; moving, idle time and distance count only shorter ones",
    ),
});

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
