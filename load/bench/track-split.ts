import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { portBase, usageOr, wholeNumber } from "./args.ts";
import { runLoad } from "./load.ts";
import { loadQueryData, queryLatency } from "./queries.ts";
import type { QueryRun } from "./results.ts";
import { benchServices, killSpawned, startPipeline } from "./suts.ts";
import { drain } from "./throughput.ts";

/**
 * `node --import tsx load/bench/track-split.ts [--rounds 2]`: which part of the ingest delays the
 * query bench's two queries (load/bench/queries.ts: 10 M time-major rows, 1,000 runs each), under
 * five conditions in turn, `rounds` times, against one pipeline of the bench (2,000 devices):
 *   alone            no ingest
 *   full             1,000 fixes/s over MQTT through broker, bridge, BullMQ, worker and PostgreSQL
 *   noWorker         the same with the worker stopped (SIGSTOP): nothing reaches PostgreSQL; it is
 *                    resumed and drained after
 *   pgOnly           50 rows inserted straight into today's partition every 50 ms, no MQTT
 *   cpuOnly          a process spinning 2 ms of every ~12, no I/O
 * One line per query and condition on stdout; writes nothing. The bench's own services
 * (LOGITRACK_BENCH_PG_PORT / _REDIS_PORT); the pipeline listens 4000 above LOGITRACK_BENCH_PORT_BASE.
 */
const { values: args } = usageOr(() => parseArgs({ options: { rounds: { type: "string", default: "2" } } }));
const { rounds, port } = usageOr(() => ({
  rounds: wholeNumber("rounds", args.rounds as string, 1, 20),
  port: portBase(4001) + 4000,
}));
process.on("exit", killSpawned);

const pipe = await startPipeline(benchServices(), 2000, port);
const data = await loadQueryData(pipe.pool, 10_000_000, console.log);
const [, workerPid] = pipe.pids() as [number, number];
const show = (cond: string, round: number, out: QueryRun[], extra = "") => {
  for (const q of out)
    console.log(`${cond} r${round}: ${q.name}: p50 ${q.p50.toFixed(2)} p99 ${q.p99.toFixed(2)} ${extra}`);
};
const queries = () => queryLatency(pipe.pool, data, 1000);
const ingest = () =>
  runLoad(
    {
      urls: pipe.urls,
      devices: pipe.devices,
      rate: 1000,
      seconds: 90,
      processes: 1,
      fixesPerMessage: 1,
      qos: 1,
    },
    queries,
    2,
  );

for (let round = 1; round <= rounds; round++) {
  show("alone", round, await queries());

  const d0 = await pipe.delivered();
  const full = await ingest();
  show("full", round, full.during, `(stored ${(await pipe.delivered()) - d0})`);

  process.kill(workerPid, "SIGSTOP");
  const stopped = await ingest();
  process.kill(workerPid, "SIGCONT");
  show("noWorker", round, stopped.during, `(acked ${stopped.acked})`);
  await drain(pipe, 120_000);

  let writing = true;
  let inserted = 0;
  const writer = (async () => {
    let t = Date.now();
    while (writing) {
      await pipe.pool.query(
        `INSERT INTO vehicle_locations (vehicle_id, recorded_at, location, speed, heading, received_at)
         SELECT 'w-' || v, to_timestamp(($1::bigint + v) / 1000.0), ST_SetSRID(ST_MakePoint(55.2, 25.1), 4326), 50, 90, now()
         FROM generate_series(0, 49) v`,
        [t],
      );
      t += 50;
      inserted += 50;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  show("pgOnly", round, await queries(), `(inserted ${inserted})`);
  writing = false;
  await writer;

  const spinner = spawn(process.execPath, [
    "-e",
    "setInterval(() => { const t = performance.now(); while (performance.now() - t < 2) {} }, 10)",
  ]);
  show("cpuOnly", round, await queries());
  spinner.kill("SIGKILL");
}
await pipe.stop();
process.exit(0);
