import { FieldError, preview, readNumber } from "./fields.ts";
import { type AvlRecord, Codec8Error, decodeAvlPacket } from "./teltonika-codec8.ts";
import { type AdapterResult, CandidateReject, reject } from "./types.ts";

/** Teltonika AVL IO element ids mapped onto fix fields (Teltonika's published "FMB AVL ID" document). */
export const IO = {
  gsmSignal: 21,
  totalOdometerM: 16,
  externalVoltageMv: 66,
  batteryVoltageMv: 67,
  ignition: 239,
  movement: 240,
} as const;

/** Fix attributes: named values and every raw IO element (`io{id}`), stored as jsonb. */
export type Attributes = Record<string, number | string | boolean>;

/**
 * The most a record's attributes may take as JSON. A native fix is capped by MAX_PAYLOAD_BYTES
 * (64 KiB by default) with everything in it; an AVL packet of that size can carry one Codec 8E
 * variable-length IO element of 65,000 bytes, 130,000 characters of hex on one fix, copied into
 * every /ws update and track read. A record beyond this is rejected (E_TOO_LARGE, the rest of its
 * packet stored), not cut: a cut value would read as the device's.
 */
export const MAX_AVL_ATTRIBUTES_BYTES = 16 * 1024;

/** The attribute key of a raw IO element. */
export const ioKey = (id: number | string) => `io${id}`;

/**
 * A binary Codec 8 / 8E packet on `{imei}/data` (MQTT) or from the TCP listener: one candidate
 * per record. A CRC mismatch or a malformed packet rejects the whole message (E_BAD_PAYLOAD); a
 * record without satellites is E_NO_FIX on its own, one whose IO elements are too large
 * E_TOO_LARGE (MAX_AVL_ATTRIBUTES_BYTES), the packet's other records go on.
 */
export function adaptTeltonikaAvl(payload: Buffer): AdapterResult {
  let records: AvlRecord[];
  try {
    records = decodeAvlPacket(payload).records;
  } catch (err) {
    if (err instanceof Codec8Error) return reject("E_BAD_PAYLOAD", `Codec 8: ${err.message}`);
    throw err;
  }
  if (records.length === 0) return reject("E_BAD_PAYLOAD", "Codec 8: the packet holds no record");
  return { ok: true, candidates: records.map(recordCandidate) };
}

function recordCandidate(rec: AvlRecord): unknown {
  const attributes: Attributes = { priority: rec.priority, eventIo: rec.eventIo, satellites: rec.satellites };
  for (const [id, v] of rec.io) attributes[ioKey(id)] = v;
  const bytes = Buffer.byteLength(JSON.stringify(attributes));
  if (bytes > MAX_AVL_ATTRIBUTES_BYTES) {
    const sizes = Object.fromEntries(
      [...rec.io].map(([id, v]) => [ioKey(id), typeof v === "string" ? `${v.length} characters` : v]),
    );
    return new CandidateReject(
      "E_TOO_LARGE",
      `record of ${new Date(rec.timestamp).toISOString()}: its IO elements take ${bytes} bytes as attributes, more than ${MAX_AVL_ATTRIBUTES_BYTES}`,
      { recordedAt: rec.timestamp, lat: rec.lat, lng: rec.lng, io: sizes },
    );
  }
  if (rec.satellites === 0 || (rec.lat === 0 && rec.lng === 0)) {
    return new CandidateReject(
      "E_NO_FIX",
      `record of ${new Date(rec.timestamp).toISOString()}: ${rec.satellites === 0 ? "0 satellites" : "position 0,0"}, the device has no GPS fix`,
      { recordedAt: rec.timestamp, lat: rec.lat, lng: rec.lng, attributes },
    );
  }
  try {
    return {
      lat: rec.lat,
      lng: rec.lng,
      recordedAt: rec.timestamp,
      speed: rec.speed,
      heading: rec.angle,
      altitude: rec.altitude,
      ...namedIo((id) => rec.io.get(id), attributes),
      attributes,
    };
  } catch (err) {
    if (err instanceof FieldError) return new CandidateReject(err.reason, err.message, attributes);
    throw err;
  }
}

/**
 * The fix fields and named attributes read from IO elements, for the binary codecs and Codec
 * JSON alike: ignition (239) and odometer (16, metres → km) are fix fields, and a bad value
 * there rejects the record (FieldError), as any bad fix field does. Movement (240), external and
 * battery voltage (66, 67: mV → V) and GSM signal (21, 0-5) are named attributes, added to
 * `attributes` when readable; their raw `io{id}` is kept either way.
 */
export function namedIo(
  get: (id: number) => unknown,
  attributes: Attributes,
): { ignition?: boolean; odometer?: number } {
  const field = (id: number, name: string) => `${id} (${name})`;
  const ign = readNumber(get(IO.ignition), field(IO.ignition, "ignition"));
  if (ign !== undefined && ign !== 0 && ign !== 1)
    throw new FieldError(
      "E_BAD_TYPE",
      `${field(IO.ignition, "ignition")}: expected 0 or 1, got ${preview(get(IO.ignition))}`,
    );
  const odometerM = readNumber(get(IO.totalOdometerM), field(IO.totalOdometerM, "total odometer"));
  const lenient = (id: number) => {
    try {
      return readNumber(get(id), String(id));
    } catch {
      return undefined;
    }
  };
  const movement = lenient(IO.movement);
  if (movement === 0 || movement === 1) attributes.movement = movement === 1;
  const external = lenient(IO.externalVoltageMv);
  if (external !== undefined) attributes.externalVoltage = external / 1000;
  const battery = lenient(IO.batteryVoltageMv);
  if (battery !== undefined) attributes.batteryVoltage = battery / 1000;
  const gsm = lenient(IO.gsmSignal);
  if (gsm !== undefined) attributes.gsmSignal = gsm;
  return {
    ...(ign !== undefined ? { ignition: ign === 1 } : {}),
    ...(odometerM !== undefined ? { odometer: odometerM / 1000 } : {}),
  };
}
