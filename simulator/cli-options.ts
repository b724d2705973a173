import { parseArgs } from "node:util";
import type { SimulatorConfig } from "../core/config.ts";
import { DEFAULT_CREDENTIALS_FILE } from "./credentials.ts";
import { PROTOCOLS, type Protocol } from "./fleet.ts";

export const USAGE = `usage: npm run simulate -- [options]

Drives virtual trucks around Dubai, each its own device with its own credentials.

  --trucks N          trucks (default 500)
  --rate R            fixes per second per truck (default 0.2: one fix every 5 s, a common
                      tracker setting; OwnTracks trucks send at most one per second)
  --qos 0|1           MQTT QoS of every publish (default 1)
  --seed S            replays the same trips (default 1)
  --duration S        stop after S seconds           (with a progress bar)
  --fixes N           stop after N fixes in total    (with a progress bar)
  --coverage-gaps     trucks lose coverage now and then ("tunnels", 20-90 s about every 3 min);
                      they buffer the fixes and upload them later as ONE fleet/{id}/locations array
  --duplicates        5 % of fixes are sent twice (stored once: idempotent by vehicle and time)
  --protocol P        how the trucks talk (default native):
                        native          native JSON over MQTT (fleet/{id}/location)
                        teltonika-mqtt  Codec 8E packets over MQTT on {imei}/data
                        teltonika-tcp   Codec 8E over TCP (TELTONIKA_TCP_PORT on the broker)
                        osmand          Traccar Client's JSON over HTTP (OSMAND_PORT on the API)
                      trucks get an IMEI and a device key at registration
  --owntracks N       the first N trucks speak OwnTracks JSON on owntracks/{id}/phone (native only)
  --url URL           where the trucks send (default by protocol: mqtt://127.0.0.1:$MQTT_PORT,
                      tcp://127.0.0.1:$TELTONIKA_TCP_PORT, http://127.0.0.1:$OSMAND_PORT; the
                      ports defaulting to 1883, 5027 and 5055)
  --keepalive S       MQTT keepalive in seconds (default 60)
  --prefix P          vehicle ids P-0001, P-0002, … (default truck)
  --credentials FILE  credentials file, written on first run, mode 0600
                      (default ${DEFAULT_CREDENTIALS_FILE})
  --api URL           API for registration (default $LOGITRACK_API_URL or http://127.0.0.1:$HTTP_PORT)
  --token T           admin API token (default $LOGITRACK_TOKEN, $ADMIN_TOKEN, then the token
                      npm start generated in $DATA_DIR/admin-token, DATA_DIR defaulting to .data)
  --register          issue new credentials even for trucks the file knows
  --register-only     register and write the credentials file, then exit (for k6 runs)
  --quiet             no live status line, only the summary
  -h, --help

Without the API, vehicles are registered straight into PostgreSQL ($DATABASE_URL, or the
local services that npm start uses when the broker is on this machine).`;

export interface SimulatorOptions {
  protocol: Protocol;
  trucks: number;
  rate: number;
  qos: 0 | 1;
  seed: string;
  durationS: number | undefined;
  fixes: number | undefined;
  coverageGaps: boolean;
  duplicates: boolean;
  owntracks: number;
  url: string;
  keepalive: number;
  prefix: string;
  credentialsFile: string;
  api: string;
  token: string | undefined;
  register: boolean;
  registerOnly: boolean;
  quiet: boolean;
  help: boolean;
}

export class UsageError extends Error {
  override name = "UsageError";
}

/** The environment's defaults for the options: the simulator's configuration (core/config.ts). */
export type SimulatorDefaults = Partial<
  Pick<
    SimulatorConfig,
    | "MQTT_PORT"
    | "HTTP_PORT"
    | "TELTONIKA_TCP_PORT"
    | "OSMAND_PORT"
    | "LOGITRACK_API_URL"
    | "LOGITRACK_TOKEN"
    | "ADMIN_TOKEN"
  >
>;

/** Parses the command line; environment variables only supply defaults. Throws UsageError. */
export function parseCliOptions(argv: string[], env: SimulatorDefaults = {}): SimulatorOptions {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const mqttPort = env.MQTT_PORT || 1883;
  const httpPort = env.HTTP_PORT || 8080;
  const trucks = int(values.trucks, "--trucks", 1, 100_000) ?? 500;
  const owntracks = int(values.owntracks, "--owntracks", 0, 100_000) ?? 0;
  if (owntracks > trucks) throw new UsageError(`--owntracks ${owntracks} is more than --trucks ${trucks}`);
  const prefix = values.prefix ?? "truck";
  if (!/^[A-Za-z0-9_-]{1,50}$/.test(prefix)) throw new UsageError("--prefix: letters, digits, _ and - only");
  const protocol = (values.protocol ?? "native") as Protocol;
  if (!PROTOCOLS.includes(protocol))
    throw new UsageError(`--protocol must be one of ${PROTOCOLS.join(", ")}`);
  if (owntracks > 0 && protocol !== "native") throw new UsageError("--owntracks goes with --protocol native");
  const defaultUrl = {
    native: `mqtt://127.0.0.1:${mqttPort}`,
    "teltonika-mqtt": `mqtt://127.0.0.1:${mqttPort}`,
    "teltonika-tcp": `tcp://127.0.0.1:${env.TELTONIKA_TCP_PORT || 5027}`,
    osmand: `http://127.0.0.1:${env.OSMAND_PORT || 5055}/`,
  }[protocol];
  const qos = values.qos ?? "1";
  if (qos !== "0" && qos !== "1") throw new UsageError("--qos must be 0 or 1");
  return {
    protocol,
    trucks,
    rate: num(values.rate, "--rate", 0.0001, 1000) ?? 0.2,
    qos: qos === "0" ? 0 : 1,
    seed: values.seed ?? "1",
    durationS: num(values.duration, "--duration", 0.001, 365 * 86_400),
    fixes: int(values.fixes, "--fixes", 1, Number.MAX_SAFE_INTEGER),
    coverageGaps: values["coverage-gaps"] ?? false,
    duplicates: values.duplicates ?? false,
    owntracks,
    url: values.url ?? defaultUrl,
    keepalive: int(values.keepalive, "--keepalive", 1, 65_535) ?? 60,
    prefix,
    credentialsFile: values.credentials ?? DEFAULT_CREDENTIALS_FILE,
    api: values.api ?? env.LOGITRACK_API_URL ?? `http://127.0.0.1:${httpPort}`,
    token: values.token ?? env.LOGITRACK_TOKEN ?? env.ADMIN_TOKEN,
    register: values.register ?? false,
    registerOnly: values["register-only"] ?? false,
    quiet: values.quiet ?? false,
    help: values.help ?? false,
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      protocol: { type: "string" },
      trucks: { type: "string" },
      rate: { type: "string" },
      qos: { type: "string" },
      seed: { type: "string" },
      duration: { type: "string" },
      fixes: { type: "string" },
      "coverage-gaps": { type: "boolean" },
      duplicates: { type: "boolean" },
      owntracks: { type: "string" },
      url: { type: "string" },
      keepalive: { type: "string" },
      prefix: { type: "string" },
      credentials: { type: "string" },
      api: { type: "string" },
      token: { type: "string" },
      register: { type: "boolean" },
      "register-only": { type: "boolean" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function num(raw: string | undefined, name: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${name} must be a number from ${min} to ${max}: ${JSON.stringify(raw)}`);
  }
  return n;
}

function int(raw: string | undefined, name: string, min: number, max: number): number | undefined {
  const n = num(raw, name, min, max);
  if (n !== undefined && !Number.isInteger(n)) throw new UsageError(`${name} must be a whole number: ${raw}`);
  return n;
}
