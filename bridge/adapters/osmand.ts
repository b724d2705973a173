import { adapting, FieldError, preview, readNumber, required, UNIT_BOUNDARY } from "./fields.ts";
import { type AdapterResult, emptyPayload, isObject, reject } from "./types.ts";

/** knots → km/h (the query form's speed, as Traccar Client sends it) */
const KMH_PER_KNOT = 1.852;
/** m/s → km/h (the JSON form's speed) */
const KMH_PER_MPS = 3.6;

type Attributes = Record<string, number | string | boolean>;

/**
 * The OsmAnd protocol as Traccar Client speaks it (its published OsmAnd protocol description), after the listener
 * (api/osmand-listener.ts) has taken the device key out. Two forms:
 *
 * Query or form parameters, as the listener hands them on: an object of strings.
 *   `lat`, `lon` (or `location` "lat,lon"), `timestamp` (epoch seconds, epoch milliseconds, ISO
 *   8601 or "yyyy-MM-dd HH:mm:ss" UTC), `speed` in KNOTS (Traccar Client converts the phone's m/s;
 *   the OsmAnd app itself sends m/s under the same name, which Traccar's server also reads as
 *   knots, so such a phone is read the way Traccar would), `bearing` or `heading`, `altitude`,
 *   `accuracy` (m); `batt` (%), `charge`, `hdop` kept as attributes; `valid=false` is E_NO_FIX.
 *
 * JSON (Traccar Client 9 and later, its location SDK's own shape):
 *   `{"location": {"timestamp": ISO, "coords": {latitude, longitude, accuracy, speed (m/s),
 *   heading, altitude}, "is_moving", "odometer" (m), "event", "battery": {level 0..1,
 *   is_charging}, "activity": {type}}}`; the SDK writes -1 for an unknown speed or heading.
 *
 * A timestamp is required: the app buffers fixes while offline and sends them later, so the time
 * of receipt would misplace them (Traccar's server falls back to it; we reject E_MISSING_FIELD).
 */
export function adaptOsmAnd(payload: unknown): AdapterResult {
  if (payload === undefined) return emptyPayload();
  if (!isObject(payload)) return reject("E_BAD_PAYLOAD", "expected OsmAnd parameters or a JSON object");
  return adapting(() => {
    if (payload.location !== undefined && typeof payload.location !== "string") return fromJson(payload);
    return fromParameters(payload);
  });
}

function fromParameters(p: Record<string, unknown>): AdapterResult {
  if (p.valid === "false" || p.valid === "0") {
    throw new FieldError("E_NO_FIX", "valid: the app reports no valid location");
  }
  let lat = readNumber(p.lat, "lat");
  let lng = readNumber(p.lon, "lon");
  if (lat === undefined && lng === undefined && p.location !== undefined) [lat, lng] = readPair(p.location);
  const speed = readNumber(p.speed, "speed");
  const heading = readNumber(p.bearing, "bearing") ?? readNumber(p.heading, "heading");
  const attributes: Attributes = {};
  const batt = readNumber(p.batt, "batt");
  if (batt !== undefined) attributes.batt = batt;
  const hdop = readNumber(p.hdop, "hdop");
  if (hdop !== undefined) attributes.hdop = hdop;
  if (p.charge === "true" || p.charge === "false") attributes.charge = p.charge === "true";
  return fix({
    lat: required(lat, "lat"),
    lng: required(lng, "lon"),
    recordedAt: readTimestamp(required(p.timestamp, "timestamp")),
    speed: speed === undefined || speed < 0 ? undefined : speed * KMH_PER_KNOT,
    heading: heading === undefined || heading < 0 ? undefined : heading,
    altitude: readNumber(p.altitude, "altitude"),
    accuracy: readNumber(p.accuracy, "accuracy"),
    attributes,
  });
}

function fromJson(p: Record<string, unknown>): AdapterResult {
  const loc = p.location;
  if (!isObject(loc)) throw new FieldError("E_BAD_TYPE", `location: expected an object, got ${preview(loc)}`);
  const coords = loc.coords;
  if (!isObject(coords)) {
    throw new FieldError(
      coords === undefined ? "E_MISSING_FIELD" : "E_BAD_TYPE",
      "location.coords: required object",
    );
  }
  const timestamp = required(loc.timestamp, "location.timestamp");
  if (typeof timestamp !== "string") {
    throw new FieldError(
      "E_BAD_TYPE",
      `location.timestamp: expected an ISO 8601 string, got ${preview(timestamp)}`,
    );
  }
  const speed = readNumber(coords.speed, "location.coords.speed");
  const heading = readNumber(coords.heading, "location.coords.heading");
  const accuracy = readNumber(coords.accuracy, "location.coords.accuracy");
  const attributes: Attributes = {};
  const battery: Record<string, unknown> = isObject(loc.battery) ? loc.battery : {};
  const level = readNumber(battery.level, "location.battery.level");
  // the SDK reports -1 where the platform gives no battery level (simulators)
  if (level !== undefined && level >= 0) attributes.batt = Math.round(level * 100);
  if (typeof battery.is_charging === "boolean") attributes.charge = battery.is_charging;
  if (typeof loc.is_moving === "boolean") attributes.motion = loc.is_moving;
  const odometer = readNumber(loc.odometer, "location.odometer");
  if (odometer !== undefined) attributes.odometerM = odometer;
  if (typeof loc.event === "string" && loc.event !== "") attributes.event = loc.event;
  if (isObject(loc.activity) && typeof loc.activity.type === "string")
    attributes.activity = loc.activity.type;
  return fix({
    lat: required(readNumber(coords.latitude, "location.coords.latitude"), "location.coords.latitude"),
    lng: required(readNumber(coords.longitude, "location.coords.longitude"), "location.coords.longitude"),
    recordedAt: readTimestamp(timestamp),
    speed: speed === undefined || speed < 0 ? undefined : speed * KMH_PER_MPS,
    heading: heading === undefined || heading < 0 ? undefined : heading,
    altitude: readNumber(coords.altitude, "location.coords.altitude"),
    accuracy: accuracy === undefined || accuracy < 0 ? undefined : accuracy,
    attributes,
  });
}

function fix(candidate: Record<string, unknown> & { attributes: Attributes }): AdapterResult {
  const { attributes, ...rest } = candidate;
  return {
    ok: true,
    candidates: [{ ...rest, ...(Object.keys(attributes).length > 0 ? { attributes } : {}) }],
  };
}

// "yyyy-MM-dd HH:mm:ss", which Traccar reads as UTC
const SPACED_RE = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)$/;

/**
 * Epoch seconds or milliseconds (told apart as the other adapters do, by magnitude), an ISO 8601
 * string (the native schema checks it), or "yyyy-MM-dd HH:mm:ss" in UTC.
 */
function readTimestamp(v: unknown): number | string {
  if (typeof v === "string") {
    const spaced = SPACED_RE.exec(v.trim());
    if (spaced) return `${spaced[1]}T${spaced[2]}Z`;
    if (v.includes("T")) return v.trim();
  }
  const n = readNumber(v, "timestamp");
  if (n === undefined) throw new FieldError("E_MISSING_FIELD", "timestamp: required");
  if (n < 0 || !Number.isInteger(n)) {
    throw new FieldError(
      "E_OUT_OF_RANGE",
      `timestamp: expected whole epoch seconds or milliseconds, got ${n}`,
    );
  }
  return n < UNIT_BOUNDARY ? n * 1000 : n;
}

function readPair(v: unknown): [number | undefined, number | undefined] {
  const parts = typeof v === "string" ? v.split(",") : [];
  if (parts.length !== 2)
    throw new FieldError("E_BAD_TYPE", `location: expected "lat,lon", got ${preview(v)}`);
  return [readNumber(parts[0]?.trim(), "location (lat)"), readNumber(parts[1]?.trim(), "location (lon)")];
}
