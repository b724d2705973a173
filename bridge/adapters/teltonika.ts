import { adapting, FieldError, preview, readNumber, required, UNIT_BOUNDARY } from "./fields.ts";
import { type Attributes, adaptTeltonikaAvl, ioKey, namedIo } from "./teltonika-avl.ts";
import { type AdapterResult, emptyPayload, isObject, reject } from "./types.ts";

const IO_ID_RE = /^[0-9]{1,5}$/;

/**
 * Teltonika "Codec JSON" on `{imei}/data`, as FMB/FMC firmware publishes it:
 * `{"state":{"reported":{"ts":<epoch ms>,"pr":0,"latlng":"lat,lng","alt":..,"ang":..,"sat":..,
 * "sp":..,"evt":..,"239":<ignition>,"16":<odometer m>,…}}}`. The firmware writes most values as
 * strings ("132"), so every number is read from a number or a numeric string. `latlng`
 * "0.000000,0.000000" is what the modem sends without a GNSS fix: E_NO_FIX. `sp` is km/h, `ang`
 * degrees, `alt` metres; the IO elements become fix fields and attributes as the binary codecs'
 * do (teltonika-avl.ts), every scalar one kept raw as `io{id}`.
 * A binary Codec 8 / 8E packet on the same topic arrives as a Buffer (bridge/bridge.ts tells
 * them apart by the packet's four zero bytes).
 */
export function adaptTeltonika(payload: unknown): AdapterResult {
  if (payload === undefined) return emptyPayload();
  if (Buffer.isBuffer(payload)) return adaptTeltonikaAvl(payload);
  const reported = isObject(payload) && isObject(payload.state) ? payload.state.reported : undefined;
  if (!isObject(reported)) return reject("E_BAD_PAYLOAD", 'expected {"state":{"reported":{…}}}');

  return adapting(() => {
    const ts = required(readNumber(reported.ts, "ts"), "ts");
    if (ts < UNIT_BOUNDARY) {
      throw new FieldError("E_OUT_OF_RANGE", `ts: epoch milliseconds expected, ${ts} looks like seconds`);
    }
    const [lat, lng] = readLatLng(required(reported.latlng, "latlng"));
    if (lat === 0 && lng === 0) {
      throw new FieldError("E_NO_FIX", `latlng ${preview(reported.latlng)}: the device has no GPS fix`);
    }
    const attributes: Attributes = {};
    for (const [k, v] of Object.entries(reported)) {
      if (IO_ID_RE.test(k) && (typeof v === "number" || typeof v === "string")) attributes[ioKey(k)] = v;
    }
    const named = namedIo((id) => reported[String(id)], attributes);
    return {
      ok: true,
      candidates: [
        {
          lat,
          lng,
          recordedAt: ts,
          speed: readNumber(reported.sp, "sp"),
          heading: readNumber(reported.ang, "ang"),
          altitude: readNumber(reported.alt, "alt"),
          ...named,
          ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
        },
      ],
    };
  });
}

function readLatLng(v: unknown): [number, number] {
  const parts = typeof v === "string" ? v.split(",") : [];
  if (parts.length !== 2) throw new FieldError("E_BAD_TYPE", `latlng: expected "lat,lng", got ${preview(v)}`);
  const lat = readNumber(parts[0]?.trim(), "latlng (lat)");
  const lng = readNumber(parts[1]?.trim(), "latlng (lng)");
  if (lat === undefined || lng === undefined) {
    throw new FieldError("E_BAD_TYPE", `latlng: expected "lat,lng", got ${preview(v)}`);
  }
  return [lat, lng];
}
