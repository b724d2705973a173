import { z } from "zod";
import type { AlertRuleKind } from "./alerts.ts";
import { ATTRIBUTE_KEY_RE } from "./fix.ts";

/**
 * The parameters, scope and quiet hours of an alert rule, as the API accepts them: the worker
 * reads rules stored through these schemas only (worker/derive/alert-rules.ts).
 */
const positive = z.number().finite().positive();
const seconds = z.number().int().min(0).max(86_400);

/** Fix fields that are numbers; any other name is read from the fix's `attributes`. */
export const NUMERIC_FIX_FIELDS = ["speed", "heading", "altitude", "accuracy", "odometer"] as const;

export const alertParamsSchemas = {
  geofence_enter: z.strictObject({ geofenceId: z.number().int().positive().optional() }),
  geofence_exit: z.strictObject({ geofenceId: z.number().int().positive().optional() }),
  speeding: z.strictObject({ limitKmh: positive.max(400), minSeconds: seconds }),
  idling: z.strictObject({ minMinutes: positive.max(1440) }),
  threshold: z
    .strictObject({
      // a fix field or an attribute key as a fix may carry one (a letter or digit first: never `__proto__`)
      attribute: z.string().regex(ATTRIBUTE_KEY_RE, "a fix field or attribute name"),
      above: z.number().finite().optional(),
      below: z.number().finite().optional(),
      minSeconds: seconds.optional(),
    })
    .refine((p) => (p.above === undefined) !== (p.below === undefined), "exactly one of above, below"),
  offline: z.strictObject({ minutes: positive.max(10_080) }),
  no_fix: z.strictObject({ minutes: positive.max(10_080) }),
} satisfies Record<AlertRuleKind, z.ZodType>;

export const alertScopeSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("fleet") }),
  z.strictObject({ kind: z.literal("group"), groupId: z.number().int().positive() }),
  z.strictObject({ kind: z.literal("vehicle"), vehicleId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/) }),
]);

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "HH:MM");
export const quietHoursSchema = z
  .strictObject({ from: clock, to: clock })
  .refine((q) => q.from !== q.to, "from and to must differ");

/** Minutes since local midnight of "HH:MM". */
const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Whether `t` (epoch ms) falls in the quiet hours, read in time zone `tz`. */
export function inQuietHours(quiet: { from: string; to: string } | null, t: number, tz: string): boolean {
  if (!quiet) return false;
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-GB", {
      timeZone: tz,
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(tz, f);
  }
  const local = minutesOf(f.format(t));
  const from = minutesOf(quiet.from);
  const to = minutesOf(quiet.to);
  return from < to ? local >= from && local < to : local >= from || local < to;
}
