import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { loadConfig } from "../../core/config.ts";
import { createPool } from "../../core/db.ts";
import type { Fix } from "../../core/fix.ts";
import { createLogger } from "../../core/logger.ts";
import { createRedis } from "../../core/redis.ts";
import { processBatch as processNew } from "../../worker/process-batch.ts";
import { PartitionCache } from "../../worker/store/partitions.ts";
import { UsageError, usageOr, wholeNumber } from "./args.ts";
import { cpuSecondsOf } from "./cpu.ts";
import { benchDbUrl, benchServices, freshStorage } from "./suts.ts";

/**
 * The worker's batch, this checkout's against another's (`--old DIR`: a copy of the code before a
 * change, with node_modules), called directly: processBatch on batches of `--vehicles` vehicles
 * × `--per` in-order fixes, the two interleaved (alternating which goes first) on one fresh bench
 * database, each fleet its own vehicles. Reports per side the median and mean ms per batch and
 * the CPU of its one PostgreSQL backend per batch (/proc), and the ratios new / old.
 *   npx tsx load/bench/batch-ab.ts --old /tmp/old-checkout [--batches 60] [--vehicles 100] [--per 5]
 */
const { values: args } = usageOr(() =>
  parseArgs({
    options: {
      old: { type: "string" },
      batches: { type: "string", default: "60" },
      vehicles: { type: "string", default: "100" },
      per: { type: "string", default: "5" },
    },
  }),
);
const { old, batches, vehicles, per } = usageOr(() => {
  if (!args.old || !existsSync(`${args.old}/worker/process-batch.ts`))
    throw new UsageError(
      `--old wants the checkout to compare with (DIR/worker/process-batch.ts), got '${args.old ?? ""}'`,
    );
  return {
    old: args.old,
    batches: wholeNumber("batches", args.batches as string, 1, 100_000),
    vehicles: wholeNumber("vehicles", args.vehicles as string, 1, 10_000),
    per: wholeNumber("per", args.per as string, 1, 1000),
  };
});
const oldModule = (await import(pathToFileURL(`${old}/worker/process-batch.ts`).href)) as {
  processBatch: typeof processNew;
};
const oldPartitions = (await import(pathToFileURL(`${old}/worker/store/partitions.ts`).href)) as {
  PartitionCache: typeof PartitionCache;
};

const svc = benchServices();
const { pool: setup, redis: setupRedis } = await freshStorage(svc);
await setup.end();
setupRedis.disconnect();
const config = loadConfig({ ...process.env, DATABASE_URL: benchDbUrl(svc), REDIS_URL: svc.redisUrl });
const log = createLogger("bench", "silent");

interface Side {
  name: string;
  run: typeof processNew;
  deps: Parameters<typeof processNew>[0];
  backend: number;
  ms: number[];
  cpu: number[];
  /** this process's CPU (the worker's share: JavaScript, pg and ioredis) per batch, ms */
  node: number[];
}
async function side(name: string, run: typeof processNew, partitions: PartitionCache): Promise<Side> {
  // one connection: its backend's CPU is this side's
  const pool = createPool(benchDbUrl(svc), 1);
  const backend = (await pool.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]
    ?.pid as number;
  const deps = { config, pool, redis: createRedis(svc.redisUrl), partitions, log };
  return { name, run, deps, backend, ms: [], cpu: [], node: [] };
}
const sides = [
  await side("old", oldModule.processBatch, new oldPartitions.PartitionCache(config.PARTITION_INTERVAL)),
  await side("new", processNew, new PartitionCache(config.PARTITION_INTERVAL)),
];

const t0 = Date.now() - 6 * 3_600_000;
let seq = 0;
const batch = (fleet: string, i: number): Fix[] =>
  Array.from({ length: vehicles }, (_, k) =>
    Array.from({ length: per }, (_, j) => {
      const n = i * per + j;
      return {
        vehicleId: `${fleet}-${k}`,
        recordedAt: t0 + n * 5_000,
        lat: 25 + k * 0.001,
        lng: 55 + n * 0.0005,
        speed: 36,
        ignition: true,
        messageId: `m${++seq}`,
        receivedAt: Date.now(),
      };
    }),
  ).flat();

const warmUp = 5;
for (let i = 0; i < batches + warmUp; i++) {
  const order = i % 2 === 0 ? sides : [...sides].reverse();
  for (const s of order) {
    const fixes = batch(s.name, i);
    const cpu0 = cpuSecondsOf(s.backend);
    const node0 = process.cpuUsage();
    const t = performance.now();
    await s.run(s.deps, `${s.name}-${i}`, { fixes, rejects: [], sealedAt: Date.now() });
    const ms = performance.now() - t;
    const node = process.cpuUsage(node0);
    if (i < warmUp) continue;
    s.ms.push(ms);
    s.cpu.push((cpuSecondsOf(s.backend) - cpu0) * 1000);
    s.node.push((node.user + node.system) / 1000);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const [a, b] = sides as [Side, Side];
const row = (s: Side) =>
  `${s.name}: ${median(s.ms).toFixed(1)} ms median, ${mean(s.ms).toFixed(1)} ms mean per batch; ` +
  `PostgreSQL backend ${mean(s.cpu).toFixed(1)} ms CPU, worker ${mean(s.node).toFixed(1)} ms CPU per batch`;
console.log(`${batches} batches each of ${vehicles} vehicles × ${per} fixes, interleaved`);
console.log(row(a));
console.log(row(b));
console.log(
  `new / old: ${(median(b.ms) / median(a.ms)).toFixed(2)} (median ms), ${(mean(b.ms) / mean(a.ms)).toFixed(2)} (mean ms), ` +
    `${(mean(b.cpu) / mean(a.cpu)).toFixed(2)} (backend CPU), ${(mean(b.node) / mean(a.node)).toFixed(2)} (worker CPU)`,
);
for (const s of sides) {
  await s.deps.pool.end();
  s.deps.redis.disconnect();
}
