import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { alertsSection } from "./alerts.ts";
import { benchOutput, portBase, sections, usageOr, wholeNumber } from "./args.ts";
import { startNaive, startRelay } from "./baselines.ts";
import { calibrate, kernelShare, machineCpu } from "./calibration.ts";
import { idleConnections } from "./connections.ts";
import { startDevicePipeline } from "./device-suts.ts";
import { runLoad } from "./load.ts";
import { loadQueryData, queryLatency } from "./queries.ts";
import { copyEwkb, insertWithWorkerStatement, syntheticFixes } from "./raw-insert.ts";
import { renderMarkdown, renderSvg, spliceSection } from "./report.ts";
import type { BenchResults, ThroughputRun } from "./results.ts";
import {
  type BenchServices,
  benchServices,
  ensureCommitTimestamps,
  envPairs,
  freshStorage,
  killSpawned,
  registerDevices,
  startPipeline,
} from "./suts.ts";
import { ladder, measureStep } from "./throughput.ts";

/**
 * `npm run bench [-- --quick]`: the ingest pipeline measured side by side with its baselines in
 * one run (loopback only, bounded in time), written to BENCHMARKS.md, docs/bench-chart.svg and
 * load/bench/results.json. Sections: throughput ladders (pipeline; the pipeline fed by Codec 8E
 * over TCP and by OsmAnd over HTTP; naive, bare Aedes, Mosquitto), raw storage, overload, idle
 * connections, query latency, alerts (ingest with 100 alert rules against none; alert latency).
 * `--only a,b` runs some of them (throughput, overload, devices, raw, connections, queries, alerts).
 * Only a full run (no --quick, --only, --repeat or --env) writes those files; any other run writes
 * its JSON to --out, or to .data/bench/side-run.json with its tables on stdout.
 */
const root = fileURLToPath(new URL("../..", import.meta.url));
const { values: args } = usageOr(() =>
  parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      // settings for the pipeline under test, e.g. --env QUEUE_PARTITIONS=1 (repeatable)
      env: { type: "string", multiple: true },
      // a side run (another setting, one section): its JSON to this file, BENCHMARKS.md untouched
      out: { type: "string" },
      // the throughput ladders run this many times, each system on a fresh database every time
      repeat: { type: "string" },
    },
  }),
);
const SECTIONS = ["throughput", "overload", "devices", "raw", "connections", "queries", "alerts"];
const quick = args.quick;
const {
  repeat,
  only,
  portBase: firstPort,
} = usageOr(() => {
  const repeat = args.repeat === undefined ? (quick ? 1 : 3) : wholeNumber("repeat", args.repeat, 1, 10);
  return {
    repeat,
    only: args.only === undefined ? undefined : sections(args.only, SECTIONS),
    // 10 ports per system: four per repetition (pipeline, two relays, naive), six after them (two
    // device pipelines, connections, queries, two alert pipelines); a device pipeline's reach 6 above
    portBase: portBase(10 * (4 * repeat + 6) + 6),
  };
});
const out = benchOutput(args, `${root}.data/bench/side-run.json`);
const want = (s: string) => !only || only.includes(s);
const pipelineEnv = usageOr(() => envPairs(args.env));
const cores = cpus().length;
process.on("exit", killSpawned);
const log = (m: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

const svc: BenchServices = await ensureCommitTimestamps(benchServices());
const hasMosquitto = (() => {
  try {
    execFileSync("sh", ["-c", "command -v mosquitto"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const seconds = quick ? 4 : 10;
const devices = quick ? 500 : 2000;
// the relays climb on until they fail: their maximum is the yardstick for the pipeline's
const relayRates = quick
  ? [3000, 6000, 9000, 12000, 15000, 18000, 24000, 30000]
  : [3000, 6000, 9000, 12000, 15000, 18000, 21000, 24000, 27000, 30000, 36000, 42000];
// the quick ladder reaches the relays' range too: since issue 18's round-trip and coalescing work
// the pipeline sustains the old quick ladder's top step (9,000) on this machine
const singleRates = quick
  ? [3000, 6000, 9000, 12000, 15000, 18000]
  : [3000, 4500, 6000, 7500, 9000, 10500, 12000, 13500, 15000, 16500, 18000];
const batchRates = quick ? [100, 400, 800] : [100, 200, 300, 400, 600, 800, 1000];
const naiveRates = quick ? [1000, 3000] : [1000, 2000, 3000, 4500, 6000, 9000, 12000];
const naiveBatchRates = quick ? [40, 120] : [40, 80, 120, 160, 240, 320, 400];
const processes = 2;
// steps between the last sustained and the first failing rate: the maxima behind the ratios to
// half a step's precision (quick) or a quarter's
const refine = quick ? 1 : 2;
const steps = { seconds, processes, cores, log, refine };
let port = firstPort;
const nextPort = () => (port += 10);

const results: BenchResults = {
  machine: {
    cores,
    memGiB: Math.round(totalmem() / 2 ** 30),
    cpu: cpus()[0]?.model ?? "unknown",
    node: process.version,
    date: new Date().toISOString().slice(0, 10),
  },
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
  quick,
  throughput: [],
  raw: [],
  queries: [],
};

const cpuAtStart = machineCpu();
log("calibration: loopback round trips, fsync, one system call");
results.calibration = await calibrate(svc, svc.dir ?? root);
{
  const c = results.calibration;
  log(
    `  Redis ${c.redisRttUs.toFixed(0)} µs, PostgreSQL ${c.pgRttUs.toFixed(0)} µs, fsync ${c.fsyncUs.toFixed(0)} µs, system call ${c.syscallNs.toFixed(0)} ns`,
  );
}

for (let repetition = 1; repetition <= repeat && want("throughput"); repetition++) {
  log(
    `throughput, repetition ${repetition} of ${repeat}: ${devices} devices, ${processes} publisher processes, ${seconds} s per step`,
  );
  const push = (run: ThroughputRun) => results.throughput.push({ ...run, repetition });
  const pipe = await startPipeline(svc, devices, nextPort(), pipelineEnv);
  const single = await ladder(pipe, { mode: "single", rates: singleRates, ...steps });
  push(single);
  push(await ladder(pipe, { mode: "batch50", rates: batchRates, ...steps }));

  if (repetition === 1 && want("overload") && single.maxSustained > 0) {
    const rate = Math.round(2 * single.maxSustained);
    log(`overload: ${rate} fixes/s for ${quick ? 10 : 30} s`);
    const acked0 = await pipe.delivered();
    const rssBefore = pipe.rss();
    const step = await measureStep(pipe, {
      rate,
      fpm: 1,
      seconds: quick ? 10 : 30,
      processes,
      cores,
      drainTimeoutMs: 120_000,
      reconcile: true,
    });
    const recoveredInS = step.drainS ?? 0;
    const stored = (await pipe.delivered()) - acked0;
    const rssAfter = pipe.rss();
    // memory must come back once the backlog is stored, not stay at the overload's peak
    await new Promise((r) => setTimeout(r, quick ? 15_000 : 60_000));
    results.overload = {
      offeredFixes: step.offeredFixes,
      deliveredFixes: step.deliveredFixes,
      ackP99: step.ackP99,
      commitP99: step.commitP99,
      peakRssMB: step.rssMB,
      rssBeforeMB: rssBefore / 2 ** 20,
      rssAfterMB: rssAfter / 2 ** 20,
      rssMinuteAfterMB: pipe.rss() / 2 ** 20,
      acked: step.fixesAcked,
      stored,
      reconciled: step.reconciled,
      recoveredInS,
      loadCpuShare: step.loadCpuShare,
      cpu: step.cpu,
      refusedTransmissions: step.refusedTransmissions,
      reconnects: step.reconnects,
    };
    const rc = step.reconciled;
    if (rc) {
      log(
        `  sent ${rc.sent}, acknowledged ${rc.acked}, stored ${rc.stored}, acknowledged but not stored ${rc.ackedNotStored}, stored unacknowledged ${rc.storedNotAcked}`,
      );
    }
    log(
      `  ${step.reconnects ?? 0} device connections closed by the broker (any cause), ${step.refusedTransmissions ?? 0} publishes sent again`,
    );
  }
  await pipe.stop();

  const relays: ("aedes" | "mosquitto")[] = hasMosquitto ? ["aedes", "mosquitto"] : ["aedes"];
  for (const kind of relays) {
    const relay = await startRelay(kind, devices, nextPort());
    push(await ladder(relay, { mode: "single", rates: relayRates, ...steps }));
    await relay.stop();
  }
  if (!hasMosquitto) log("mosquitto not installed (scripts/services install adds it): relay skipped");

  const naive = await startNaive(svc, devices, nextPort());
  push(await ladder(naive, { mode: "single", rates: naiveRates, ...steps }));
  push(await ladder(naive, { mode: "batch50", rates: naiveBatchRates, ...steps }));
  await naive.stop();
}

// the pipeline fed by the other device protocols, single fixes, beside native MQTT's ladder
if (want("throughput") || want("devices")) {
  for (const protocol of ["teltonika-tcp", "osmand"] as const) {
    log(`throughput over ${protocol}: ${devices} devices`);
    const sut = await startDevicePipeline(svc, devices, nextPort(), protocol);
    results.throughput.push(
      // one lower step first: an HTTP request or a TCP packet per fix costs more than an MQTT publish
      await ladder(sut, { mode: "single", rates: [1500, ...singleRates], ...steps }),
    );
    await sut.stop();
  }
}

if (want("raw")) {
  const n = quick ? 100_000 : 500_000;
  log(`raw storage: ${n} rows per method`);
  for (const [method, batch, parallel] of [
    ["worker statement (unnest, ON CONFLICT)", 500, 1],
    ["worker statement (unnest, ON CONFLICT)", 500, 4],
    ["COPY hex-EWKB", 5000, 1],
    ["COPY hex-EWKB", 5000, 4],
  ] as const) {
    const { pool, redis } = await freshStorage(svc);
    redis.disconnect();
    await pool.query("SELECT ensure_location_partition(now() - interval '1 hour', 'day')");
    await pool.query("SELECT ensure_location_partition(now(), 'day')");
    const fixes = syntheticFixes(n, 1000);
    const rowsPerSec = method.startsWith("COPY")
      ? await copyEwkb(pool, fixes, batch, parallel)
      : await insertWithWorkerStatement(pool, fixes, batch, parallel);
    results.raw.push({ method, batch, parallel, rowsPerSec });
    log(`  ${method} x${parallel}: ${Math.round(rowsPerSec)} rows/s`);
    await pool.end();
  }
}

if (want("connections")) {
  // the broker's own file limit bounds what one process can hold (listeners, PostgreSQL and Redis
  // need a few descriptors too): the target is 20,000 or what the limit leaves, and the report says which
  const fdLimit = Number(execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim()) || 20_000;
  const n = quick ? 5000 : Math.min(20_000, fdLimit - 200);
  const keepaliveS = quick ? 10 : 60;
  const perSecond = 1800;
  log(
    `idle connections: ${n} at ${perSecond}/s, held across a ${keepaliveS} s keepalive (ulimit -n ${fdLimit})`,
  );
  const mqttPort = nextPort();
  // the product's connection limits, as shipped (startPipeline lifts them for the ladders)
  const pipe = await startPipeline(svc, 10, mqttPort, {
    MQTT_CONNECT_RATE_PER_ADDRESS: "500",
    MQTT_MAX_CONNECTIONS_PER_ADDRESS: "2000",
    MQTT_MAX_CONNECTIONS: "20000",
  });
  const idle = await registerDevices(pipe.pool, n, "idle");
  results.connections = {
    ...(await idleConnections(pipe, idle, mqttPort, { perSecond, keepaliveS, holders: 2, log })),
    fdLimit,
  };
  log(
    `  held ${results.connections.held}, ${results.connections.heldAfterKeepalive} after the keepalive; ${Math.round(results.connections.bytesPerConnection)} bytes/connection`,
  );
  await pipe.stop();
}

if (want("queries")) {
  const rows = quick ? 1_000_000 : 10_000_000;
  const runs = 1000;
  const ingestRate = 1000;
  log(
    `query latency at ${rows.toLocaleString("en-US")} rows, ${runs} runs each, while ${ingestRate} fixes/s are ingested`,
  );
  // the queries run against the pipeline's own database while it stores a live fleet's fixes
  const pipe = await startPipeline(svc, devices, nextPort(), pipelineEnv);
  const data = await loadQueryData(pipe.pool, rows, log);
  const d0 = await pipe.delivered();
  const t0 = performance.now();
  let queriesS = 0;
  const load = await runLoad(
    {
      urls: pipe.urls,
      devices: pipe.devices,
      rate: ingestRate,
      seconds: quick ? 90 : 240,
      processes: 1,
      fixesPerMessage: 1,
      qos: 1,
    },
    async () => {
      const q0 = performance.now();
      const out = await queryLatency(pipe.pool, data, runs);
      queriesS = (performance.now() - q0) / 1000;
      return out;
    },
    cores,
  );
  const ingestFixesPerS = ((await pipe.delivered()) - d0) / ((performance.now() - t0) / 1000);
  if (queriesS > load.wallMs / 1000) log(`  the queries outlasted the ingest (${queriesS.toFixed(0)} s)`);
  results.queries = load.during.map((q) => ({ ...q, ingestFixesPerS }));
  for (const q of results.queries) log(`  ${q.name}: p50 ${q.p50.toFixed(2)} ms, p99 ${q.p99.toFixed(2)} ms`);
  await pipe.stop();
}

if (want("alerts")) {
  results.alerts = await alertsSection({
    svc,
    devices,
    nextPort,
    env: pipelineEnv,
    // one lower step first: on a busy machine the ladder's first step may already be too much
    rates: [1500, ...singleRates],
    seconds,
    processes,
    cores,
    log,
    refine,
    latencySeconds: quick ? 10 : 30,
    repeat,
  });
  const a = results.alerts;
  for (const p of [a, ...(a.more ?? [])])
    log(
      `  max sustained ${Math.round(p.without.maxSustained)} → ${Math.round(p.with.maxSustained)} fixes/s with ${a.rules.speeding + a.rules.geofence} rules`,
    );
}

results.calibration.kernelShare = kernelShare(cpuAtStart, machineCpu());

if (out) {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  if (!args.out) process.stdout.write(`\n${renderMarkdown(results)}\n`);
  log(`written: ${out} (BENCHMARKS.md untouched: a full run writes it)`);
  process.exit(0);
}
writeFileSync(`${root}load/bench/results.json`, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(`${root}docs/bench-chart.svg`, renderSvg(results));
const doc = (() => {
  try {
    return readFileSync(`${root}BENCHMARKS.md`, "utf8");
  } catch {
    return "";
  }
})();
writeFileSync(`${root}BENCHMARKS.md`, spliceSection(doc, renderMarkdown(results)));
log("written: BENCHMARKS.md, docs/bench-chart.svg, load/bench/results.json");
process.exit(0);
