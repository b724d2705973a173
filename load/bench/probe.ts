import { parseArgs } from "node:util";
import { type BrokerHeartbeat, isBrokerHeartbeat, readHeartbeats } from "../../core/heartbeat.ts";
import { redisKeys } from "../../core/redis.ts";
import { seedBenchAlertRules } from "./alert-fixtures.ts";
import { portBase, UsageError, usageOr, wholeNumber, wholeNumbers } from "./args.ts";
import { startDevicePipeline } from "./device-suts.ts";
import { statementCosts, statementTotals } from "./statement-stats.ts";
import { benchServices, ensureStatementStats, envPairs, killSpawned, startPipeline } from "./suts.ts";
import { measureStep } from "./throughput.ts";

/**
 * `npm run -s bench:probe -- --rates 6000,9000 [--devices 500] [--seconds 8] [--env KEY=VALUE …]
 * [--protocol teltonika-tcp|osmand] [--statements] [--alert-rules] [--park]`: a few single-fix steps against one pipeline (broker, worker as
 * processes of their own, the bench's services; with --protocol its devices speak Codec 8E over TCP,
 * or OsmAnd over HTTP to an API process, as the bench's device rows), printing per step what `npm run bench` records plus what it does not: the broker's
 * event-loop delay (its heartbeat) and the worker's batch and replay counters. For questions like
 * "does this setting move PUBACK p99, and why"; writes nothing. With --statements, also PostgreSQL's
 * execution time per statement and stored fix (pg_stat_statements, loaded into the bench's own
 * PostgreSQL by a restart). With --alert-rules the pipeline has the alerts section's geofences and
 * 100 rules (alert-fixtures.ts); with --park each step's devices park after it (a fix at 0 km/h each).
 */
const { values: args } = usageOr(() =>
  parseArgs({
    options: {
      rates: { type: "string", default: "6000,9000" },
      devices: { type: "string", default: "500" },
      seconds: { type: "string", default: "8" },
      env: { type: "string", multiple: true },
      protocol: { type: "string" },
      // seconds to wait after a step before the broker's and worker's RSS is read again
      settle: { type: "string", default: "0" },
      // PostgreSQL's execution time per statement and stored fix (pg_stat_statements)
      statements: { type: "boolean", default: false },
      "alert-rules": { type: "boolean", default: false },
      // each step's devices send a fix at 0 km/h after it (throughput.ts, LadderOptions.park)
      park: { type: "boolean", default: false },
    },
  }),
);
const { rates, devices, seconds, settle, protocol, extra, port } = usageOr(() => {
  const p = args.protocol;
  if (p !== undefined && p !== "teltonika-tcp" && p !== "osmand")
    throw new UsageError(`--protocol wants teltonika-tcp or osmand, got '${p}'`);
  return {
    rates: wholeNumbers("rates", args.rates as string, 1, 1_000_000),
    devices: wholeNumber("devices", args.devices as string, 1, 100_000),
    seconds: wholeNumber("seconds", args.seconds as string, 1, 3600),
    settle: wholeNumber("settle", args.settle as string, 0, 3600),
    protocol: p as "teltonika-tcp" | "osmand" | undefined,
    extra: envPairs(args.env),
    // the pipeline listens 1000 above it; a device pipeline's HTTP port 6 above that
    port: portBase(1006) + 1000,
  };
});
process.on("exit", killSpawned);
const svc = args.statements ? await ensureStatementStats(benchServices()) : benchServices();
const pipe = protocol
  ? await startDevicePipeline(svc, devices, port, protocol)
  : await startPipeline(svc, devices, port, extra);
if (args["alert-rules"]) await seedBenchAlertRules(pipe.pool, pipe.devices);
const counter = (m: Record<string, string>, k: string) => Number(m[k] ?? 0);
let before = await pipe.redis.hgetall(redisKeys.metrics);
for (const rate of rates) {
  const rssBeforeMB = Math.round(pipe.rss() / 2 ** 20);
  const stmts0 = args.statements ? await statementTotals(pipe.pool) : undefined;
  const stored0 = await pipe.delivered();
  const s = await measureStep(pipe, {
    rate,
    fpm: 1,
    seconds,
    processes: 2,
    cores: 2,
    park: args.park as boolean,
  });
  const rssAfterMB = Math.round(pipe.rss() / 2 ** 20);
  // the whole step, its ramp and drain too: every statement it caused over every fix it stored
  const statements = stmts0
    ? statementCosts(stmts0, await statementTotals(pipe.pool), (await pipe.delivered()) - stored0)
    : undefined;
  await new Promise((r) => setTimeout(r, settle * 1000));
  const rssSettledMB = Math.round(pipe.rss() / 2 ** 20);
  const after = await pipe.redis.hgetall(redisKeys.metrics);
  const beat: Partial<BrokerHeartbeat> = (await readHeartbeats(pipe.redis)).find(isBrokerHeartbeat) ?? {};
  const prev = before;
  const delta = (k: string) => counter(after, k) - counter(prev, k);
  before = after;
  console.log(
    JSON.stringify({
      env: extra,
      ...(protocol ? { protocol } : {}),
      offered: rate,
      delivered: Math.round(s.deliveredFixes),
      pubackP50: Math.round(s.ackP50),
      pubackP99: Math.round(s.ackP99),
      commitP99: s.commitP99,
      sustained: s.sustained,
      cpu: Object.fromEntries(Object.entries(s.cpu ?? {}).map(([k, v]) => [k, Number(v.toFixed(2))])),
      brokerLoopDelayP99: beat.loopDelayP99Ms,
      brokerLoopDelayMax: beat.loopDelayMaxMs,
      bridgeJobs: delta("bridge_batches"),
      // the jobs the worker took, and its batches (jobs coalesced into one are one) with their mean time
      workerJobs: delta("worker_batches") + delta("worker_jobs_coalesced"),
      workerBatches: delta("worker_batches"),
      batchMsMean: Math.round(delta("worker_insert_ms_total") / Math.max(1, delta("worker_batches"))),
      replays: delta("worker_replays"),
      // broker + worker, MB: before the step, its peak, after its drain, after --settle seconds
      rss: { before: rssBeforeMB, peak: Math.round(s.rssMB), after: rssAfterMB, settled: rssSettledMB },
      shedding: {
        started: delta("broker_shedding"),
        socketsPaused: delta("broker_sockets_paused"),
        connectsRefused: delta("broker_connects_refused:shedding"),
        disconnected: delta("broker_shed_disconnects"),
        // the devices' side: publishes closed unanswered (sent again), and their reconnects
        resent: s.refusedTransmissions,
        reconnects: s.reconnects,
      },
      // sent, still unanswered when the devices stopped waiting
      unanswered: s.unanswered,
      ...(statements ? { postgres: statements } : {}),
    }),
  );
}
await pipe.stop();
process.exit(0);
