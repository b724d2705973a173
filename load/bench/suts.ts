import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { hashDeviceSecret } from "../../core/credentials.ts";
import { createPool } from "../../core/db.ts";
import { withLocalServices } from "../../core/local-services.ts";
import { migrate } from "../../core/migrate.ts";
import { nodeFlags } from "../../core/node-flags.ts";
import { createRedis, type Redis, redisKeys } from "../../core/redis.ts";
import { UsageError } from "./args.ts";
import { type CommitLatency, exactCommitLatency } from "./commit-latency.ts";
import { type CpuGroups, pidFromFile, processTree } from "./cpu.ts";
import type { Ledger } from "./load.ts";
import { reconcile } from "./reconcile.ts";
import type { Reconciliation } from "./results.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface Device {
  id: string;
  username: string;
  password: string;
  /** Teltonika devices (registered by registerDeviceKeys) */
  imei?: string;
  /** OsmAnd devices (registered by registerDeviceKeys) */
  deviceKey?: string;
}

/** A system under test: where publishers connect, and how many fixes it has delivered so far. */
export interface Sut {
  name: string;
  /** how its devices talk (load/bench/publisher.ts); default MQTT */
  protocol?: "mqtt" | "teltonika-tcp" | "osmand";
  urls: string[];
  devices: Device[];
  delivered(): Promise<number>;
  /** exact publish→commit latency of the messages published in a window; absent for relays */
  commitLatency?(fromMs: number, toMs: number): Promise<CommitLatency | undefined>;
  /** every message of a step against the database; absent for relays */
  reconcile?(ledger: Ledger): Promise<Reconciliation>;
  /** resident memory of its server processes, bytes */
  rss(): number;
  pids(): number[];
  /** its processes by role, for the CPU each uses in a step (load/bench/cpu.ts) */
  cpuGroups(): CpuGroups;
  stop(): Promise<void>;
}

export interface BenchServices {
  databaseUrl: string;
  redisUrl: string;
  /** the services folder (scripts/services --dir), when the bench provisioned them itself */
  dir?: string | undefined;
}

/**
 * The bench's PostgreSQL and Redis: its own under .data/bench-services (scripts/services), unless
 * DATABASE_URL/REDIS_URL are set. CPU of PostgreSQL and Redis is measured only for its own.
 */
export function benchServices(opts: { statementStats?: boolean } = {}): BenchServices {
  const dir = `${root}.data/bench-services`;
  // other ports let two checkouts bench side by side without colliding
  const pgPort = process.env.LOGITRACK_BENCH_PG_PORT ?? "54359";
  const redisPort = process.env.LOGITRACK_BENCH_REDIS_PORT ?? "63829";
  const flags = {
    LOGITRACK_PG_COMMIT_TIMESTAMPS: "on",
    ...(opts.statementStats ? { LOGITRACK_PG_STAT_STATEMENTS: "on" } : {}),
  };
  const env = withLocalServices({ ...process.env, ...flags }, [
    "--dir",
    dir,
    "--pg-port",
    pgPort,
    "--redis-port",
    redisPort,
  ]);
  return {
    databaseUrl: env.DATABASE_URL as string,
    redisUrl: env.REDIS_URL as string,
    dir: process.env.DATABASE_URL || process.env.REDIS_URL ? undefined : dir,
  };
}

/**
 * The bench's PostgreSQL keeps commit times (exact commit latency); one started before that
 * setting existed is restarted with it. PostgreSQL the user set through DATABASE_URL must have
 * `track_commit_timestamp = on` already: the bench says so instead of reporting no latency.
 */
export async function ensureCommitTimestamps(svc: BenchServices): Promise<BenchServices> {
  const show = async () => {
    const c = new pg.Client({ connectionString: svc.databaseUrl });
    await c.connect();
    const { rows } = await c.query<{ track_commit_timestamp: string }>("SHOW track_commit_timestamp");
    await c.end();
    return rows[0]?.track_commit_timestamp === "on";
  };
  if (await show()) return svc;
  if (!svc.dir) throw new Error("the bench needs track_commit_timestamp = on in DATABASE_URL's server");
  execFileSync("bash", [`${root}scripts/services`, "stop-pg", "--dir", svc.dir], { stdio: "inherit" });
  const again = benchServices();
  if (!(await show())) throw new Error("track_commit_timestamp is still off after a restart");
  return again;
}

/**
 * The bench's PostgreSQL with pg_stat_statements loaded (the probe's --statements): one started
 * without it is restarted with it. A server the user set through DATABASE_URL must load it already.
 */
export async function ensureStatementStats(svc: BenchServices): Promise<BenchServices> {
  const loaded = async () => {
    const c = new pg.Client({ connectionString: svc.databaseUrl });
    await c.connect();
    // the library defines its settings when loaded (shared_preload_libraries is the superuser's to read)
    const { rows } = await c.query<{ max: string | null }>(
      "SELECT current_setting('pg_stat_statements.max', true) AS max",
    );
    await c.end();
    return rows[0]?.max != null;
  };
  if (await loaded()) return benchServices({ statementStats: true });
  if (!svc.dir)
    throw new Error("--statements needs pg_stat_statements in DATABASE_URL's shared_preload_libraries");
  execFileSync("bash", [`${root}scripts/services`, "stop-pg", "--dir", svc.dir], { stdio: "inherit" });
  const again = benchServices({ statementStats: true });
  if (!(await loaded())) throw new Error("pg_stat_statements is still not loaded after a restart");
  return again;
}

/** `--env KEY=VALUE` options (repeatable) as an environment for the pipeline under test. */
export function envPairs(list: readonly string[] | undefined): Record<string, string> {
  return Object.fromEntries(
    (list ?? []).map((kv) => {
      const i = kv.indexOf("=");
      if (i < 1) throw new UsageError(`--env wants KEY=VALUE, got '${kv}'`);
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
}

/** PostgreSQL (postmaster and its backends) and Redis of the bench's own services. */
export function serviceGroups(svc: BenchServices): CpuGroups {
  if (!svc.dir) return {};
  const dir = svc.dir;
  return {
    postgres: () => {
      const pm = pidFromFile(`${dir}/pg/postmaster.pid`);
      return pm ? processTree(pm) : [];
    },
    redis: () => {
      const pid = pidFromFile(`${dir}/redis/redis.pid`);
      return pid ? [pid] : [];
    },
  };
}

export interface Proc {
  child: ChildProcess;
  lines: string[];
  stop(): Promise<void>;
}

/** Every server process the bench started (killSpawned). */
export const spawned = new Set<ChildProcess>();

/** Kills every server process the bench started (on exit, so a failed run leaves nothing behind). */
export function killSpawned(): void {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}

/** Spawns a process and resolves when a stdout line matches `ready`. */
export async function spawnReady(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<Proc> {
  const child = spawn(cmd, args, { cwd: root, env, stdio: ["pipe", "pipe", "inherit"] });
  spawned.add(child);
  const lines: string[] = [];
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  await new Promise<void>((resolve, reject) => {
    let buf = "";
    child.stdout?.on("data", (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      for (const l of parts) {
        lines.push(l);
        if (lines.length > 1000) lines.shift();
        if (ready.test(l)) resolve();
      }
    });
    child.on("exit", (code) => reject(new Error(`${args.join(" ")} exited (${code}) before ready`)));
  });
  return {
    child,
    lines,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export function rssOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * A fresh, migrated database and an empty Redis database for one system under test. `slot` n > 0 gives a second
 * system its own (lt_bench_n, the next Redis database), so two can run at once (load/bench/alerts.ts
 * climbs two ladders side by side); the product names its pub/sub channels per Redis database
 * (core/redis.ts, channelOf), so they do not hear each other either (with the default single
 * broker: BROKER_CLUSTER=redis would share MQTT traffic between them on one Redis).
 */
export async function freshStorage(svc: BenchServices, slot = 0): Promise<{ pool: pg.Pool; redis: Redis }> {
  const name = benchDbName(slot);
  const admin = new pg.Client({ connectionString: svc.databaseUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = benchDbUrl(svc, slot);
  await migrate(url);
  const redis = createRedis(benchRedisUrl(svc, slot));
  await redis.flushdb();
  return { pool: createPool(url, 8), redis };
}

const benchDbName = (slot: number) => (slot === 0 ? "lt_bench" : `lt_bench_${wholeSlot(slot)}`);

function wholeSlot(slot: number): number {
  if (!Number.isSafeInteger(slot) || slot < 0 || slot > 15)
    throw new Error(`bench storage slot ${slot}: 0-15`);
  return slot;
}

export function benchDbUrl(svc: BenchServices, slot = 0): string {
  const u = new URL(svc.databaseUrl);
  u.pathname = `/${benchDbName(slot)}`;
  return u.toString();
}

/** The bench's Redis: the URL's own database plus `slot` (each slot a database of its own). */
export function benchRedisUrl(svc: BenchServices, slot = 0): string {
  if (wholeSlot(slot) === 0) return svc.redisUrl;
  const u = new URL(svc.redisUrl);
  const db = Number(u.pathname.slice(1) || "0") + slot;
  if (!Number.isSafeInteger(db) || db > 15)
    throw new Error(`bench storage slot ${slot}: no Redis database ${db}`);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Registers n vehicles sharing one secret (one INSERT … generate_series). */
export async function registerDevices(pool: pg.Pool, n: number, prefix = "bench"): Promise<Device[]> {
  const password = "bench-secret-not-for-production";
  await pool.query(
    "INSERT INTO vehicles (id, credential_hash) SELECT $1 || '-' || g, $2 FROM generate_series(1, $3) g ON CONFLICT DO NOTHING",
    [prefix, hashDeviceSecret(password), n],
  );
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i + 1}`,
    username: `${prefix}-${i + 1}`,
    password,
  }));
}

export const tsx = (entry: string) => ["--import", "tsx", entry];

/** The product: broker+bridge and worker as processes of their own (as `npm start` runs them). */
export async function startPipeline(
  svc: BenchServices,
  devices: number,
  port: number,
  extraEnv: Record<string, string> = {},
  /** extra node flags for broker and worker, e.g. ["--cpu-prof"] to profile them */
  nodeArgs: string[] = [],
  /** its storage (freshStorage): another slot than a pipeline running beside it */
  slot = 0,
): Promise<Sut & { redis: Redis; pool: pg.Pool }> {
  const { pool, redis } = await freshStorage(svc, slot);
  const list = await registerDevices(pool, devices);
  const env = {
    ...process.env,
    DATABASE_URL: benchDbUrl(svc, slot),
    REDIS_URL: benchRedisUrl(svc, slot),
    MQTT_PORT: String(port),
    MQTT_WS_PORT: String(port + 1),
    MQTT_HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    // the load generators stand in for thousands of devices, all from 127.0.0.1: one address may
    // connect as fast as all of them together (the global MQTT_CONNECT_RATE still applies)
    MQTT_CONNECT_RATE_PER_ADDRESS: process.env.MQTT_CONNECT_RATE ?? "2000",
    // and hold as many connections as the idle-connection step opens (bounded by ulimit -n instead)
    MQTT_MAX_CONNECTIONS_PER_ADDRESS: "0",
    MQTT_MAX_CONNECTIONS: "0",
    ...extraEnv,
  };
  const worker = await spawnReady(
    process.execPath,
    [...nodeArgs, ...nodeFlags.worker, ...tsx("worker/main.ts")],
    { ...env, LOG_LEVEL: "info" },
    /worker started/,
  );
  const broker = await spawnReady(
    process.execPath,
    [...nodeArgs, ...tsx("broker/main.ts")],
    { ...env, LOG_LEVEL: "info" },
    /broker listening/,
  );
  return {
    name: "pipeline",
    urls: [`mqtt://127.0.0.1:${port}`],
    devices: list,
    pool,
    redis,
    async delivered() {
      return Number((await redis.hget(redisKeys.metrics, "worker_fixes_inserted")) ?? 0);
    },
    commitLatency: (fromMs, toMs) => exactCommitLatency(pool, fromMs, toMs),
    reconcile: (ledger) => reconcile(pool, ledger),
    rss: () => rssOf(broker.child.pid) + rssOf(worker.child.pid),
    pids: () => [broker.child.pid as number, worker.child.pid as number],
    cpuGroups: () => ({
      broker: () => [broker.child.pid as number],
      worker: () => [worker.child.pid as number],
      ...serviceGroups(svc),
    }),
    async stop() {
      await broker.stop();
      await worker.stop();
      redis.disconnect();
      await pool.end();
    },
  };
}
