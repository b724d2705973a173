/**
 * Stable reason codes for rejected messages. They are part of the contract: they appear in
 * `rejected_messages.reason`, on `fleet/{id}/errors`, and as a /metrics label. Add, never rename.
 */
export const REJECT_REASONS = {
  E_BAD_JSON: "payload is not valid JSON",
  E_BAD_PAYLOAD: "payload has the wrong shape (expected an object, or an array on /locations)",
  E_TOO_LARGE: "payload larger than MAX_PAYLOAD_BYTES",
  E_MISSING_FIELD: "a required field is missing",
  E_BAD_TYPE: "a field has the wrong type",
  E_OUT_OF_RANGE: "a field is outside its allowed range",
  E_TOO_OLD: "recordedAt is older than the retention window",
  E_IN_FUTURE: "recordedAt is further in the future than MAX_CLOCK_SKEW",
  E_NO_FIX: "the device reports no GPS fix",
  E_TOPIC_MISMATCH: "the topic does not belong to the authenticated vehicle",
  E_STORAGE: "PostgreSQL refused a value of a queued fix (a data error); kept here instead of stored",
} as const;

export type RejectReason = keyof typeof REJECT_REASONS;

/** One rejected message (or one rejected element of an array), as carried in a batch job. */
export interface Reject {
  vehicleId: string;
  topic: string;
  reason: RejectReason;
  /** human-readable detail, e.g. "lat: must be <= 90" */
  detail: string;
  /** the raw payload (or array element), cut to 4 KB */
  payload: string;
  receivedAt: number;
  messageId: string;
}

export const DEAD_LETTER_PAYLOAD_BYTES = 4096;

/** Cuts a payload for the dead letter; NUL is not storable in a PostgreSQL text column. */
export function cutPayload(raw: Buffer | string): string {
  const buf = typeof raw === "string" ? Buffer.from(raw) : raw;
  const text = buf.subarray(0, DEAD_LETTER_PAYLOAD_BYTES).toString("utf8");
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\uFFFD") : text;
}
