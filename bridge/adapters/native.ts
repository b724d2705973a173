import { type AdapterResult, emptyPayload, isObject, reject } from "./types.ts";

/** `fleet/{id}/location`: one native fix object. */
export function adaptNativeOne(payload: unknown): AdapterResult {
  if (payload === undefined) return emptyPayload();
  if (!isObject(payload)) return reject("E_BAD_PAYLOAD", "expected a JSON object on /location");
  return { ok: true, candidates: [payload] };
}

/** A store-and-forward upload on /locations is capped so one message cannot monopolise a batch. */
export const MAX_FIXES_PER_UPLOAD = 5000;

/** `fleet/{id}/locations`: a JSON array of native fixes; each element is validated on its own. */
export function adaptNativeBatch(payload: unknown): AdapterResult {
  if (payload === undefined) return emptyPayload();
  if (!Array.isArray(payload)) return reject("E_BAD_PAYLOAD", "expected a JSON array on /locations");
  if (payload.length > MAX_FIXES_PER_UPLOAD) {
    return reject("E_TOO_LARGE", `more than ${MAX_FIXES_PER_UPLOAD} fixes in one upload`);
  }
  return { ok: true, candidates: payload };
}
