import { adapting, FieldError, preview, readNumber, required, UNIT_BOUNDARY } from "./fields.ts";
import { type AdapterResult, emptyPayload, isObject, reject } from "./types.ts";

/** Teltonika AVL IO element ids used here (wiki.teltonika-gps.com, "FMB AVL ID"). */
const IO_IGNITION = "239";
const IO_TOTAL_ODOMETER_M = "16";

/**
 * Teltonika "Codec JSON" on `{imei}/data`, as FMB/FMC firmware publishes it:
 * `{"state":{"reported":{"ts":<epoch ms>,"pr":0,"latlng":"lat,lng","alt":..,"ang":..,"sat":..,
 * "sp":..,"evt":..,"239":<ignition>,"16":<odometer m>,…}}}`. The firmware writes most values as
 * strings ("132"), so every number is read from a number or a numeric string. `latlng`
 * "0.000000,0.000000" is what the modem sends without a GNSS fix: E_NO_FIX. `sp` is km/h, `ang`
 * degrees, `alt` metres; IO 16 (total odometer) is metres and becomes km. Other IO elements are
 * not stored.
 */
export function adaptTeltonika(payload: unknown): AdapterResult {
  if (payload === undefined) return emptyPayload();
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
    const odometerM = readNumber(reported[IO_TOTAL_ODOMETER_M], `${IO_TOTAL_ODOMETER_M} (total odometer)`);
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
          ignition: readIgnition(reported[IO_IGNITION]),
          odometer: odometerM === undefined ? undefined : odometerM / 1000,
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

function readIgnition(v: unknown): boolean | undefined {
  const n = readNumber(v, `${IO_IGNITION} (ignition)`);
  if (n === undefined) return undefined;
  if (n !== 0 && n !== 1)
    throw new FieldError("E_BAD_TYPE", `${IO_IGNITION} (ignition): expected 0 or 1, got ${preview(v)}`);
  return n === 1;
}
