import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import { createPool } from "../core/db.ts";
import { createRedis } from "../core/redis.ts";
import { createVehicleAdmin } from "../core/vehicle-admin.ts";
import { setImeiIfUnset, VehicleExistsError } from "../core/vehicles.ts";
import type { VehicleCredentials } from "./fleet.ts";

/**
 * Device credentials for the simulated trucks: read from a file written on an earlier run, or
 * registered now. Registration goes through the API (`POST /api/vehicles`, an admin Bearer
 * token); when the API does not answer, straight into PostgreSQL (core/vehicles.ts). Secrets
 * are shown only once at registration, so the file is written (mode 0600) after every chunk.
 */
export const DEFAULT_CREDENTIALS_FILE = ".data/simulator-credentials.json";

const fileSchema = z.object({
  version: z.literal(1),
  vehicles: z.array(
    z.object({
      id: z.string(),
      username: z.string(),
      password: z.string(),
      deviceKey: z.string().optional(),
      imei: z.string().optional(),
    }),
  ),
});

export interface DatabaseTarget {
  databaseUrl: string;
  /** to disconnect a live session whose secret was rotated (the broker's control channel) */
  redisUrl?: string | undefined;
}

export interface CredentialsOptions {
  file: string;
  ids: string[];
  api?: { url: string; token?: string | undefined } | undefined;
  /** where to register when the API is unreachable; called only then */
  database?: (() => DatabaseTarget | undefined) | undefined;
  /** issue new secrets even for ids the file knows */
  fresh?: boolean;
  /** what each truck needs besides its MQTT secret (--protocol): ids the file knows without it are registered again */
  needs?: ("deviceKey" | "imei")[];
  say?: (line: string) => void;
}

/**
 * The IMEI a simulated truck is registered with (Teltonika over TCP or MQTT names the vehicle by
 * it): 15 digits from the id's hash, so a truck keeps its IMEI across runs and fleets.
 */
export function simImei(id: string): string {
  const n = BigInt(`0x${createHash("sha256").update(id).digest("hex").slice(0, 16)}`) % 10n ** 13n;
  return `35${n.toString().padStart(13, "0")}`;
}

/** `truck-0001` … : ids sort in truck order. */
export function vehicleIds(prefix: string, n: number): string[] {
  const width = Math.max(4, String(n).length);
  return Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(width, "0")}`);
}

export function readCredentialsFile(file: string): VehicleCredentials[] {
  if (!existsSync(file)) return [];
  const parsed = fileSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
  if (!parsed.success) throw new Error(`${file}: not a simulator credentials file (${parsed.error.message})`);
  return parsed.data.vehicles;
}

export function writeCredentialsFile(file: string, vehicles: VehicleCredentials[]): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ version: 1, vehicles }, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** Credentials for every id, in the order of `ids`. */
export async function ensureCredentials(opts: CredentialsOptions): Promise<VehicleCredentials[]> {
  const say = opts.say ?? (() => {});
  const known = new Map(readCredentialsFile(opts.file).map((v) => [v.id, v]));
  const lacks = (id: string) => (opts.needs ?? []).some((field) => !known.get(id)?.[field]);
  const missing = opts.ids.filter((id) => opts.fresh || !known.has(id) || lacks(id));
  if (missing.length > 0) {
    const registrar = new Registrar(opts, say);
    try {
      const CHUNK = 50;
      for (let i = 0; i < missing.length; i += CHUNK) {
        const chunk = missing.slice(i, i + CHUNK);
        const creds = await Promise.all(chunk.map((id) => registrar.register(id)));
        // a rotation leaves the vehicle's IMEI as it was: keep the one the file knew
        for (const c of creds) known.set(c.id, { ...c, imei: c.imei ?? known.get(c.id)?.imei });
        writeCredentialsFile(opts.file, [...known.values()]);
        say(
          `registered ${Math.min(i + CHUNK, missing.length)}/${missing.length} vehicles (${registrar.via})`,
        );
      }
    } finally {
      await registrar.close();
    }
  }
  return opts.ids.map((id) => known.get(id) as VehicleCredentials);
}

class ApiUnavailable extends Error {}

/** Registers through the API until it proves unreachable, then through the database. */
class Registrar {
  via: "api" | "database" = "api";
  private db: { register(id: string): Promise<VehicleCredentials>; close(): Promise<void> } | undefined;

  constructor(
    private readonly opts: CredentialsOptions,
    private readonly say: (line: string) => void,
  ) {
    if (!opts.api) this.via = "database";
  }

  async register(id: string): Promise<VehicleCredentials> {
    if (this.via === "api" && this.opts.api) {
      try {
        return await registerViaApi(this.opts.api, id);
      } catch (err) {
        if (!(err instanceof ApiUnavailable)) throw err;
        if (this.via === "api") this.say(`API unavailable (${err.message}); registering in PostgreSQL`);
        this.via = "database";
      }
    }
    return this.database().register(id);
  }

  async close(): Promise<void> {
    await this.db?.close();
  }

  private database() {
    if (this.db) return this.db;
    const target = this.opts.database?.();
    if (!target) {
      throw new Error(
        `cannot register vehicles: the API at ${this.opts.api?.url ?? "(none)"} is unreachable and no ` +
          "DATABASE_URL is known. Start the platform (npm start) or pass --api and --token.",
      );
    }
    const pool = createPool(target.databaseUrl, 4);
    const redis = target.redisUrl ? createRedis(target.redisUrl, { maxRetriesPerRequest: 1 }) : undefined;
    // rotating ends a session with the old secret; a simulator run must not fail for want of Redis
    const vehicles = createVehicleAdmin({ pool, redis, revokeBestEffort: true });
    this.db = {
      async register(id) {
        try {
          const imei = simImei(id);
          return { ...(await vehicles.register({ id, name: `Simulated truck ${id}`, imei })), imei };
        } catch (err) {
          if (!(err instanceof VehicleExistsError)) throw err;
          const rotated = await vehicles.rotate(id);
          if (!rotated) throw err;
          // registered by an older simulator, without an IMEI: it gets its own now
          return { ...rotated, imei: await setImeiIfUnset(pool, id, simImei(id)) };
        }
      },
      async close() {
        await pool.end();
        redis?.disconnect();
      },
    };
    return this.db;
  }
}

const apiCredentials = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  deviceKey: z.string().min(1).optional(),
});
const apiAnswer = z.union([
  z.object({ credentials: apiCredentials, imei: z.string().nullable().optional() }),
  apiCredentials,
]);

/** POST /api/vehicles; an existing vehicle gets new credentials (POST /api/vehicles/:id/credentials). */
async function registerViaApi(api: { url: string; token?: string | undefined }, id: string) {
  const base = api.url.replace(/\/+$/, "");
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (api.token) headers.authorization = `Bearer ${api.token}`;
  const call = async (path: string, body: unknown) => {
    try {
      return await fetch(`${base}${path}`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new ApiUnavailable(`${base}: ${cause}`);
    }
  };
  let res = await call("/api/vehicles", { id, name: `Simulated truck ${id}`, imei: simImei(id) });
  if (res.status === 409) res = await call(`/api/vehicles/${encodeURIComponent(id)}/credentials`, {});
  // the API not deployed yet (404 on the route) counts as unavailable
  if (res.status === 404 || res.status === 502 || res.status === 503) {
    throw new ApiUnavailable(`${base}/api/vehicles answered ${res.status}`);
  }
  if (res.status === 401 || res.status === 403) {
    // without a token this is a local demo run: the database route is the way in
    if (!api.token) throw new ApiUnavailable(`${base} needs an admin token (--token)`);
    throw new Error(`${base} refused the admin token (${res.status}): check --token / LOGITRACK_TOKEN`);
  }
  if (!res.ok) throw new Error(`${base}/api/vehicles answered ${res.status}: ${await res.text()}`);
  const parsed = apiAnswer.safeParse(await res.json());
  if (!parsed.success) throw new Error(`${base}/api/vehicles: unexpected answer for ${id}`);
  const c = "credentials" in parsed.data ? parsed.data.credentials : parsed.data;
  // a rotation answers with credentials only; the IMEI stays what the file knew (ensureCredentials)
  const imei = "imei" in parsed.data ? parsed.data.imei : undefined;
  return {
    id,
    username: c.username,
    password: c.password,
    ...(c.deviceKey ? { deviceKey: c.deviceKey } : {}),
    ...(imei ? { imei } : {}),
  };
}
