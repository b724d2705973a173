import { type AdapterResult, emptyPayload, isObject, reject } from "./types.ts";

/** `fleet/{id}/location`: one native fix object. */
export function adaptNativeOne(payload: unknown): AdapterResult {
  if (payload === undefined) return emptyPayload();
  if (!isObject(payload)) return reject("E_BAD_PAYLOAD", "expected a JSON object on /location");
  return { ok: true, candidates: [payload] };
}

/**
 * `fleet/{id}/locations`: a JSON array of native fixes; each element is validated on its own. Its
 * length is capped by the bridge (MAX_FIXES_PER_UPLOAD), whatever the adapter.
 */
export function adaptNativeBatch(payload: unknown): AdapterResult {
  if (payload === undefined) return emptyPayload();
  if (!Array.isArray(payload)) return reject("E_BAD_PAYLOAD", "expected a JSON array on /locations");
  return { ok: true, candidates: payload };
}
