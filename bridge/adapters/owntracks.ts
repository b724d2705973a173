import { adapting, FieldError, readNumber, required, UNIT_BOUNDARY } from "./fields.ts";
import { type AdapterResult, isObject, reject } from "./types.ts";

/**
 * OwnTracks JSON (owntracks.org/booklet/tech/json) on `owntracks/{vehicleId}/{device}`, or POSTed
 * to /api/owntracks in the app's HTTP mode. Only `_type: "location"` carries a fix; every other
 * type (lwt, transition, waypoint(s), card, status, steps, …) is ignored on purpose.
 *
 * location: `lat`, `lon`, `tst` (epoch SECONDS), `vel` (km/h), `cog` (degrees), `alt` (m),
 * `acc` (m), `batt` (%, not stored). The Android app leaves out fields whose value is 0, so an
 * absent field means "0 or unknown":
 *   - vel absent → speed 0: Android reports 0 for a location without speed anyway, and analytics
 *     need a speed to tell moving from idle;
 *   - cog, alt, acc absent → left absent: "due north", "sea level" or "perfect accuracy" would be
 *     invented data.
 * iOS sends -1 for an invalid vel or cog: taken as absent (unknown).
 */
export function adaptOwnTracks(payload: unknown): AdapterResult {
  // the app publishes a zero-length message to clear a retained one (and POSTs it in HTTP mode)
  if (payload === undefined) return { ok: "ignored", detail: "zero-length OwnTracks message" };
  if (!isObject(payload)) return reject("E_BAD_PAYLOAD", "expected an OwnTracks JSON object");
  const type = payload._type;
  if (type === undefined) return reject("E_MISSING_FIELD", "_type: required");
  if (typeof type !== "string") return reject("E_BAD_TYPE", "_type: expected a string");
  // an encrypted payload may well hold a location we cannot read: say so rather than drop it
  if (type === "encrypted") {
    return reject("E_BAD_PAYLOAD", "OwnTracks payload encryption is not supported: turn it off in the app");
  }
  if (type !== "location") return { ok: "ignored", detail: `OwnTracks _type ${type} carries no fix` };

  return adapting(() => {
    const lat = required(readNumber(payload.lat, "lat"), "lat");
    const lon = required(readNumber(payload.lon, "lon"), "lon");
    const tst = required(readNumber(payload.tst, "tst"), "tst");
    if (tst < 0) throw new FieldError("E_OUT_OF_RANGE", "tst: must be epoch seconds >= 0");
    if (tst >= UNIT_BOUNDARY) {
      throw new FieldError("E_OUT_OF_RANGE", `tst: epoch seconds expected, ${tst} looks like milliseconds`);
    }
    const vel = readNumber(payload.vel, "vel");
    const cog = readNumber(payload.cog, "cog");
    return {
      ok: true,
      candidates: [
        {
          lat,
          lng: lon,
          recordedAt: Math.round(tst * 1000),
          speed: vel === undefined ? 0 : vel < 0 ? undefined : vel,
          heading: cog === undefined || cog < 0 ? undefined : cog,
          altitude: readNumber(payload.alt, "alt"),
          accuracy: readNumber(payload.acc, "acc"),
        },
      ],
    };
  });
}
