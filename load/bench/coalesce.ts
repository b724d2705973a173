import { parseArgs } from "node:util";
import { loadConfig } from "../../core/config.ts";
import type { Fix } from "../../core/fix.ts";
import { createLogger } from "../../core/logger.ts";
import { createLocationQueues } from "../../core/queues.ts";
import { createRedis, redisKeys } from "../../core/redis.ts";
import { createWorker } from "../../worker/create-worker.ts";
import { usageOr, wholeNumber } from "./args.ts";
import { benchDbUrl, benchServices, freshStorage } from "./suts.ts";

/**
 * `node --import tsx load/bench/coalesce.ts [--jobs 400] [--size 40] [--rounds 3]`: a backlog
 * drained by the worker with WORKER_COALESCE_MAX_FIXES at its default and at 0 (off), interleaved
 * on the same machine. Each run: a fresh database, `jobs` jobs of about `size` fixes queued (the
 * bridge's split of a batch over QUEUE_PARTITIONS) while no worker runs, then one worker started
 * in this process; fixes/s from its start to the last job completed, and its transactions
 * (worker_batches). The bench's own services (LOGITRACK_BENCH_PG_PORT / _REDIS_PORT).
 */
const { values: args } = usageOr(() =>
  parseArgs({
    options: {
      jobs: { type: "string", default: "400" },
      size: { type: "string", default: "40" },
      rounds: { type: "string", default: "3" },
      vehicles: { type: "string", default: "2000" },
      cap: { type: "string", default: "5000" },
    },
  }),
);
const { jobs, size, rounds, vehicles, on } = usageOr(() => ({
  jobs: wholeNumber("jobs", args.jobs as string, 1, 100_000),
  size: wholeNumber("size", args.size as string, 1, 10_000),
  rounds: wholeNumber("rounds", args.rounds as string, 1, 100),
  vehicles: wholeNumber("vehicles", args.vehicles as string, 1, 100_000),
  // WORKER_COALESCE_MAX_FIXES when on (0 is off)
  on: wholeNumber("cap", args.cap as string, 1, 10_000_000),
}));
const svc = benchServices();
const PARTITIONS = 4;

/** `n` fixes of `vehicles` vehicles, a second apart per vehicle, in the last hour. */
function fixes(n: number): Fix[] {
  const start = Date.now() - 3_000_000;
  return Array.from({ length: n }, (_, i) => {
    const v = i % vehicles;
    const k = Math.floor(i / vehicles);
    return {
      vehicleId: `co-${v}`,
      recordedAt: start + k * 1000,
      lat: 25 + v * 1e-4,
      lng: 55 + k * 1e-4,
      speed: 40,
      heading: 90,
      ignition: true,
      messageId: `co-${i}`,
      receivedAt: Date.now(),
    };
  });
}

async function run(cap: number): Promise<{ fixesPerS: number; transactions: number; jobs: number }> {
  const { pool, redis } = await freshStorage(svc);
  const queues = createLocationQueues(createRedis(svc.redisUrl), PARTITIONS);
  const all = fixes(jobs * size);
  const perBatch = size * PARTITIONS;
  for (let i = 0; i < all.length; i += perBatch)
    await queues.add(`b${i}`, { fixes: all.slice(i, i + perBatch), rejects: [], sealedAt: Date.now() });
  const queued = (await queues.getJobCounts("waiting")).waiting ?? 0;
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: benchDbUrl(svc),
    REDIS_URL: svc.redisUrl,
    QUEUE_PARTITIONS: String(PARTITIONS),
    WORKER_COALESCE_MAX_FIXES: String(cap),
  });
  const connection = createRedis(svc.redisUrl);
  const t0 = performance.now();
  const worker = createWorker({ config, pool, redis, connection, log: createLogger("bench", "warn") });
  let completed = 0;
  const done = new Promise<void>((resolve) =>
    worker.on("completed", () => {
      if (++completed === queued) resolve();
    }),
  );
  worker.on("failed", (_job, err) => process.stderr.write(`failed: ${err.message}\n`));
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const transactions = Number(await redis.hget(redisKeys.metrics, "worker_batches"));
  await worker.close();
  await queues.close();
  connection.disconnect();
  redis.disconnect();
  await pool.end();
  return { fixesPerS: all.length / seconds, transactions, jobs: queued };
}

const results: { on: number[]; off: number[] } = { on: [], off: [] };
for (let r = 0; r < rounds; r++) {
  // interleaved, each first in every other round
  for (const mode of r % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const)) {
    const x = await run(mode === "on" ? on : 0);
    results[mode].push(x.fixesPerS);
    process.stdout.write(
      `round ${r + 1} coalescing ${mode}: ${x.jobs} jobs, ${jobs * size} fixes, ${x.transactions} transactions, ${Math.round(x.fixesPerS)} fixes/s\n`,
    );
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
process.stdout.write(
  `median fixes/s: on ${Math.round(median(results.on))}, off ${Math.round(median(results.off))}; on/off ${(median(results.on) / median(results.off)).toFixed(2)}; per round ${results.on.map((x, i) => (x / (results.off[i] ?? 1)).toFixed(2)).join(", ")}\n`,
);
process.exit(0);
