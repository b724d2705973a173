import { z } from "zod";
import type { RejectReason } from "./reject-reasons.ts";

/** A validated GPS fix, the unit the pipeline carries. Times are epoch milliseconds, UTC. */
export interface Fix {
  vehicleId: string;
  recordedAt: number;
  lat: number;
  lng: number;
  speed?: number | undefined;
  heading?: number | undefined;
  altitude?: number | undefined;
  accuracy?: number | undefined;
  ignition?: boolean | undefined;
  odometer?: number | undefined;
  /** device-specific values (e.g. Teltonika IO elements), stored as jsonb */
  attributes?: FixAttributes | undefined;
  /** correlation id: the device's messageId, or one the broker generated */
  messageId: string;
  /** when the broker received the message (epoch ms) */
  receivedAt: number;
}

const finite = z.number().finite();

const MAX_DATE_MS = 8.64e15;

const FLOAT4_MAX = 3.4028234663852886e38;
/**
 * A value for a PostgreSQL `real` column. PostgreSQL refuses a number beyond float4's range
 * ("1e308") and one that underflows it ("5e-324") for the whole INSERT: one such fix would fail
 * its batch on every retry, with the fixes of other devices in it (test/security/hostile-input).
 * Beyond the range is out of range; an underflow is the 0 that PostgreSQL would store anyway.
 */
const real = (min: number, max: number) =>
  finite
    .min(Math.max(min, -FLOAT4_MAX))
    .max(Math.min(max, FLOAT4_MAX))
    .transform((v) => (Math.fround(v) === 0 ? 0 : v));

export type FixAttributes = Record<string, number | string | boolean>;

/** The fastest speed a fix may report (km/h); a speed worked out from two positions above it is a jump, not a speed. */
export const MAX_SPEED_KMH = 400;

const MAX_ATTRIBUTES = 1024;
// starts with a letter or digit: `__proto__` can never become a key
export const ATTRIBUTE_KEY_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
// PostgreSQL refuses NUL in a jsonb string (the whole batch would fail): replaced, as in cutPayload
const noNul = (s: string) => (s.includes("\u0000") ? s.replaceAll("\u0000", "\uFFFD") : s);

/**
 * Flat device-specific values: numbers, strings, booleans under short keys. The payload cap
 * (MAX_PAYLOAD_BYTES) bounds their size; the key count is capped so one fix cannot carry an
 * unbounded object into every /ws update.
 */
const attributesSchema = z
  .record(
    z.string().regex(ATTRIBUTE_KEY_RE, "keys are [A-Za-z0-9_.-]{1,64}, starting with a letter or digit"),
    z.union([finite, z.boolean(), z.string().transform(noNul)]),
  )
  .refine((o) => Object.keys(o).length <= MAX_ATTRIBUTES, `at most ${MAX_ATTRIBUTES} attributes`);

/**
 * The native fix as a device sends it (README.md, "Devices": the native fix). Adapters for other
 * formats map their payloads onto this shape, so every format meets the same rules.
 * Unknown keys are dropped (zod strips them), so `__proto__` and friends never reach a Fix.
 */
export const nativeFixSchema = z.object({
  lat: finite.min(-90).max(90),
  lng: finite.min(-180).max(180),
  // 8.64e15 ms is the last instant a JavaScript Date can hold: a larger number would pass an
  // integer check and then throw in toISOString() (docs/security.md, finding 5)
  recordedAt: z.union([
    z.string().datetime({ offset: true }),
    z.number().int().nonnegative().max(MAX_DATE_MS),
  ]),
  speed: real(0, MAX_SPEED_KMH).optional(),
  heading: real(0, 360).optional(),
  altitude: real(-1000, 100_000).optional(),
  accuracy: real(0, FLOAT4_MAX).optional(),
  ignition: z.boolean().optional(),
  odometer: finite.min(0).optional(),
  attributes: attributesSchema.optional(),
  // NUL cannot be stored in a text column (it would fail the batch): replaced, as in cutPayload
  messageId: z.string().min(1).max(128).transform(noNul).optional(),
});

export interface TimeWindow {
  now: number;
  retentionMs: number;
  maxSkewMs: number;
}

export type FixResult = { ok: true; fix: Fix } | { ok: false; reason: RejectReason; detail: string };

/**
 * Validates one candidate fix: schema, then the time window. Never throws: an exception here
 * would close the device's connection without PUBACK, and the device would resend the same
 * message for ever; whatever goes wrong is a reject with a reason instead.
 */
export function toFix(
  candidate: unknown,
  vehicleId: string,
  messageId: string,
  receivedAt: number,
  window: TimeWindow,
): FixResult {
  try {
    return validate(candidate, vehicleId, messageId, receivedAt, window);
  } catch (err) {
    return { ok: false, reason: "E_BAD_PAYLOAD", detail: `fix could not be read: ${(err as Error).message}` };
  }
}

function validate(
  candidate: unknown,
  vehicleId: string,
  messageId: string,
  receivedAt: number,
  window: TimeWindow,
): FixResult {
  if (typeof candidate !== "object" || candidate === null || Array.isArray(candidate)) {
    return { ok: false, reason: "E_BAD_PAYLOAD", detail: "expected a JSON object" };
  }
  for (const key of REQUIRED) {
    if ((candidate as Record<string, unknown>)[key] === undefined) {
      return { ok: false, reason: "E_MISSING_FIELD", detail: `${key}: required` };
    }
  }
  const parsed = nativeFixSchema.safeParse(candidate);
  if (!parsed.success) return { ok: false, ...describeIssue(parsed.error.issues[0]) };
  const f = parsed.data;
  const recordedAt = typeof f.recordedAt === "number" ? f.recordedAt : Date.parse(f.recordedAt);
  if (recordedAt < window.now - window.retentionMs) {
    return {
      ok: false,
      reason: "E_TOO_OLD",
      detail: `recordedAt ${new Date(recordedAt).toISOString()} is beyond retention`,
    };
  }
  if (recordedAt > window.now + window.maxSkewMs) {
    return {
      ok: false,
      reason: "E_IN_FUTURE",
      detail: `recordedAt ${new Date(recordedAt).toISOString()} is in the future`,
    };
  }
  return {
    ok: true,
    fix: {
      vehicleId,
      recordedAt,
      lat: f.lat,
      lng: f.lng,
      speed: f.speed,
      heading: f.heading,
      altitude: f.altitude,
      accuracy: f.accuracy,
      ignition: f.ignition,
      odometer: f.odometer,
      ...(f.attributes !== undefined ? { attributes: f.attributes } : {}),
      messageId: f.messageId ?? messageId,
      receivedAt,
    },
  };
}

const REQUIRED = ["lat", "lng", "recordedAt"] as const;

/** Maps the first zod issue to a stable reason code and a detail naming the field. */
function describeIssue(issue: z.core.$ZodIssue | undefined): { reason: RejectReason; detail: string } {
  if (!issue) return { reason: "E_BAD_PAYLOAD", detail: "invalid fix" };
  const field = issue.path.join(".");
  if (issue.code === "too_small" || issue.code === "too_big") {
    return { reason: "E_OUT_OF_RANGE", detail: `${field}: ${issue.message}` };
  }
  if (issue.code === "invalid_type" && issue.expected === "number" && /NaN|Infinity/.test(issue.message)) {
    return { reason: "E_OUT_OF_RANGE", detail: `${field}: must be a finite number` };
  }
  // invalid_type, invalid_union (recordedAt neither string nor number), invalid_format (bad date)
  return { reason: "E_BAD_TYPE", detail: `${field}: ${issue.message}` };
}
