import type { RejectReason } from "../../core/reject-reasons.ts";

/**
 * An adapter maps one decoded payload of its format onto candidate native fixes (still
 * unvalidated: the bridge validates every candidate with the one native schema), or rejects
 * the whole message with a reason. A pure function: no I/O, no clock.
 */
export type AdapterResult =
  | { ok: true; candidates: unknown[] }
  | { ok: false; reason: RejectReason; detail: string };

export type Adapter = (payload: unknown) => AdapterResult;
