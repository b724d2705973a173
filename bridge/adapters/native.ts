import type { AdapterResult } from "./types.ts";

/** `fleet/{id}/location`: one native fix object. */
export function adaptNativeOne(payload: unknown): AdapterResult {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return { ok: false, reason: "E_BAD_PAYLOAD", detail: "expected a JSON object on /location" };
  }
  return { ok: true, candidates: [payload] };
}

/** A store-and-forward upload on /locations is capped so one message cannot monopolise a batch. */
export const MAX_FIXES_PER_UPLOAD = 5000;

/** `fleet/{id}/locations`: a JSON array of native fixes; each element is validated on its own. */
export function adaptNativeBatch(payload: unknown): AdapterResult {
  if (!Array.isArray(payload)) {
    return { ok: false, reason: "E_BAD_PAYLOAD", detail: "expected a JSON array on /locations" };
  }
  if (payload.length > MAX_FIXES_PER_UPLOAD) {
    return {
      ok: false,
      reason: "E_TOO_LARGE",
      detail: `more than ${MAX_FIXES_PER_UPLOAD} fixes in one upload`,
    };
  }
  return { ok: true, candidates: payload };
}
