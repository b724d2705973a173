import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { createRedis } from "../../core/redis.ts";
import type { Calibration } from "./results.ts";
import type { BenchServices } from "./suts.ts";

/**
 * What the machine itself costs, measured before the systems are: a loopback round trip to Redis
 * and to PostgreSQL, an 8 KiB write + fdatasync where the bench's PostgreSQL keeps its data, and one
 * cheap system call. Two machines' runs sit side by side only with this row beside them: the
 * pipeline pays round trips and system calls that a relay does not, so a machine where they cost
 * more moves its figures more (issue 18's rerun: kernel time 80 % of the CPU).
 */
export async function calibrate(svc: BenchServices, dataDir: string): Promise<Calibration> {
  const redis = createRedis(svc.redisUrl);
  await redis.ping();
  const redisRtt = await timeEach(2000, () => redis.ping());
  redis.disconnect();

  const client = new pg.Client({ connectionString: svc.databaseUrl });
  await client.connect();
  await client.query("SELECT 1");
  const pgRtt = await timeEach(2000, () => client.query("SELECT 1"));
  await client.end();

  const dir = mkdtempSync(join(dataDir, "fsync-"));
  const fd = openSync(join(dir, "probe"), "w");
  const page = Buffer.alloc(8192, 1);
  const fsync = await timeEach(200, async () => {
    writeSync(fd, page, 0, page.length, 0);
    fdatasyncSync(fd);
  });
  closeSync(fd);
  rmSync(dir, { recursive: true, force: true });

  // fstat of an open descriptor: a system call that does next to no work, so its cost is the
  // kernel entry and exit that every socket read and write also pays
  const n = 200_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fstatSync(0);
  const syscallNs = Number(process.hrtime.bigint() - t0) / n;

  return {
    redisRttUs: median(redisRtt) * 1000,
    pgRttUs: median(pgRtt) * 1000,
    fsyncUs: median(fsync) * 1000,
    syscallNs,
  };
}

async function timeEach(n: number, f: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f();
    out.push(performance.now() - t);
  }
  return out;
}

export function median(values: number[]): number {
  const s = Float64Array.from(values).sort();
  return s.length ? (s[Math.floor((s.length - 1) / 2)] as number) : Number.NaN;
}

/** User and kernel CPU time of the whole machine so far (/proc/stat, clock ticks). */
export function machineCpu(): { user: number; system: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] as string;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq
  return { user: (f[0] ?? 0) + (f[1] ?? 0), system: (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) };
}

/** The kernel's share of the busy CPU time between two readings of machineCpu. */
export function kernelShare(
  a: { user: number; system: number },
  b: { user: number; system: number },
): number {
  const user = b.user - a.user;
  const system = b.system - a.system;
  return user + system > 0 ? system / (user + system) : Number.NaN;
}
