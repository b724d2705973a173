import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../../core/free-port.ts";
import { waitFor } from "../../support/wait.ts";

const SERVICES = fileURLToPath(new URL("../../../scripts/services", import.meta.url));

export interface FaultServices {
  databaseUrl: string;
  redisUrl: string;
  /** `scripts/services stop-pg`: PostgreSQL only, fast shutdown (connections are cut) */
  stopPg(): Promise<void>;
  /** `scripts/services start`: starts whatever of the two is not running */
  start(): Promise<void>;
  /** SIGKILL of the Redis server, by the PID in the services folder's pidfile */
  killRedis(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A private PostgreSQL+PostGIS and Redis (AOF on) for the fault suite, under a folder of its own
 * and on free ports: the suite stops and kills them, so nothing else may share them. Commands run
 * asynchronously, so publishers keep publishing while a service goes down or comes back.
 */
export async function startFaultServices(): Promise<FaultServices> {
  // not created here: scripts/services creates it with mode 755, which the postgres user needs
  const dir = join(tmpdir(), `lt-faults-${process.pid}-${randomBytes(3).toString("hex")}`);
  const args = [
    "--dir",
    dir,
    "--pg-port",
    String(await freePort()),
    "--redis-port",
    String(await freePort()),
  ];
  const env = { ...process.env };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const run = (cmd: string) =>
    new Promise<string>((resolve, reject) =>
      execFile("bash", [SERVICES, cmd, ...args], { env, maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
        err ? reject(new Error(`scripts/services ${cmd} failed: ${stderr}`)) : resolve(stdout),
      ),
    );
  const out = await run("start");
  const url = (name: string) => {
    const m = new RegExp(`^export ${name}=(.*)$`, "m").exec(out);
    if (!m?.[1]) throw new Error(`scripts/services start printed no ${name}`);
    return m[1].replace(/^['"]|['"]$/g, "");
  };
  return {
    databaseUrl: url("DATABASE_URL"),
    redisUrl: url("REDIS_URL"),
    stopPg: async () => {
      await run("stop-pg");
    },
    start: async () => {
      await run("start");
    },
    async killRedis() {
      const pid = Number(readFileSync(join(dir, "redis", "redis.pid"), "utf8").trim());
      process.kill(pid, "SIGKILL");
      const alive = async () => {
        try {
          return process.kill(pid, 0);
        } catch {
          return false;
        }
      };
      await waitFor(alive, (up) => !up, {
        timeoutMs: 5000,
        intervalMs: 50,
        what: `redis-server ${pid} gone`,
      });
    },
    async stop() {
      await run("stop").catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
