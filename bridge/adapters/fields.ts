import type { RejectReason } from "../../core/reject-reasons.ts";
import type { AdapterResult } from "./types.ts";

/**
 * Field readers for adapters of device formats that are looser than the native one: numbers
 * may come as strings ("132"), and details name the device's own field (`tst`, `latlng`), not
 * the native one it maps to. A bad field throws a FieldError, which `adapting` turns into the
 * message's reject.
 */
export class FieldError extends Error {
  override name = "FieldError";
  constructor(
    readonly reason: RejectReason,
    detail: string,
  ) {
    super(detail);
  }
}

// Every step of this pattern has one way to match, so it runs in linear time. The earlier
// `(\d+\.?\d*|…)` could split a run of digits between `\d+` and `\d*` in n ways: a 65,400-digit
// `lat` followed by a letter blocked the event loop for seconds (docs/security.md, finding 1).
const NUMERIC_RE = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** A JSON number or a numeric string; undefined when absent, null or "". */
export function readNumber(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new FieldError("E_OUT_OF_RANGE", `${field}: must be a finite number`);
    return v;
  }
  if (typeof v === "string" && NUMERIC_RE.test(v)) {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new FieldError("E_OUT_OF_RANGE", `${field}: must be a finite number`);
    return n;
  }
  throw new FieldError("E_BAD_TYPE", `${field}: expected a number, got ${preview(v)}`);
}

export function required<T>(v: T | undefined, field: string): T {
  if (v === undefined) throw new FieldError("E_MISSING_FIELD", `${field}: required`);
  return v;
}

/** Runs an adapter body; a FieldError becomes the message's reject. */
export function adapting(body: () => AdapterResult): AdapterResult {
  try {
    return body();
  } catch (err) {
    if (err instanceof FieldError) return { ok: false, reason: err.reason, detail: err.message };
    throw err;
  }
}

export function preview(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    // JSON.stringify recurses: a value nested ~10,000 deep (20 KB of "[") overflows the stack
    s = `${Array.isArray(v) ? "an array" : typeof v} nested too deep to show`;
  }
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/**
 * Epoch seconds and epoch milliseconds differ by a factor of 1000, so the two never overlap in
 * any plausible range: 1e11 s is the year 5138, 1e11 ms is 1973. A value in the wrong unit is
 * rejected with a detail saying so, rather than guessed (a misconfigured device is then visible
 * on its errors topic instead of storing fixes in the wrong century).
 */
export const UNIT_BOUNDARY = 1e11;
