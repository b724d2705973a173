import type { RejectReason } from "../../core/reject-reasons.ts";

/**
 * An adapter maps one decoded payload of its format onto candidate native fixes (still
 * unvalidated: the bridge validates every candidate with the one native schema), rejects the
 * whole message with a reason, or ignores it on purpose (a message of the format that carries
 * no fix, such as an OwnTracks `lwt`: acknowledged, neither stored nor counted as an error).
 * A pure function: no I/O, no clock.
 */
export type AdapterResult =
  | { ok: true; candidates: unknown[] }
  | { ok: false; reason: RejectReason; detail: string }
  | { ok: "ignored"; detail: string };

/**
 * `payload` is the decoded JSON, or `undefined` for a zero-length payload (which OwnTracks sends
 * to clear a retained message, and other formats reject).
 */
export type Adapter = (payload: unknown) => AdapterResult;

export function reject(reason: RejectReason, detail: string): AdapterResult {
  return { ok: false, reason, detail };
}

export const emptyPayload = (): AdapterResult => reject("E_BAD_JSON", "empty payload");

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A candidate the adapter already knows is refused (one record of a multi-record packet that has
 * no GPS fix): the bridge dead-letters it under its own index while the other records go on.
 */
export class CandidateReject {
  constructor(
    readonly reason: RejectReason,
    readonly detail: string,
    /** what the dead letter shows of it */
    readonly raw: unknown,
  ) {}
}
