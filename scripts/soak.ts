import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { freePort } from "../core/free-port.ts";
import { type BrokerHeartbeat, isBrokerHeartbeat, readHeartbeats } from "../core/heartbeat.ts";
import { DEFAULT_QUEUE_PARTITIONS, locationQueueName } from "../core/queues.ts";
import { redisKeys } from "../core/redis.ts";
import { UsageError, usageOr, wholeNumber, wholeNumbers } from "../load/bench/args.ts";
import { bucketPercentile, readBuckets } from "../load/bench/commit-latency.ts";
import { benchDbUrl, rssOf, spawnReady, startPipeline } from "../load/bench/suts.ts";
import { type Minute, soakSection } from "./soak-report.ts";
import { ownChildren, startSoakServices } from "./soak-services.ts";

/**
 * `npm run soak -- --minutes N [--rate R] [--devices D] [--no-api] [--write]`
 * Steady single-fix load on the product as `npm start` runs it (broker, worker and API as
 * processes of their own, on a PostgreSQL and Redis of the soak's own under .data/soak), and
 * once a minute: resident memory of each process, the broker's event-loop delay (from its
 * heartbeat), PUBACK latency (publishers), broker-receipt → commit latency (worker histogram),
 * throughput and queue depth. `--write` puts the table into docs/reliability.md.
 * `--ladder 2000,4000,… [--step-seconds S]` instead climbs offered rates to find the maximum.
 */
const { values: args } = usageOr(() =>
  parseArgs({
    options: {
      minutes: { type: "string", default: "10" },
      rate: { type: "string", default: "2000" },
      devices: { type: "string", default: "500" },
      publishers: { type: "string", default: "2" },
      "no-api": { type: "boolean", default: false },
      write: { type: "boolean", default: false },
      ladder: { type: "string" },
      "step-seconds": { type: "string", default: "20" },
      keep: { type: "boolean", default: false },
    },
  }),
);
const { minutes, rate, devicesN, publishersN, ladder, stepS } = usageOr(() => {
  const devicesN = wholeNumber("devices", args.devices as string, 1, 100_000);
  // each publisher process its share of the devices
  const publishersN = wholeNumber("publishers", args.publishers as string, 1, 64);
  if (publishersN > devicesN)
    throw new UsageError(`--publishers wants at most --devices (${devicesN}), got '${args.publishers}'`);
  return {
    minutes: wholeNumber("minutes", args.minutes as string, 1, 10_080),
    rate: wholeNumber("rate", args.rate as string, 1, 1_000_000),
    devicesN,
    publishersN,
    ladder: args.ladder === undefined ? undefined : wholeNumbers("ladder", args.ladder, 1, 1_000_000),
    // a step's first second is not counted
    stepS: wholeNumber("step-seconds", args["step-seconds"] as string, 2, 3600),
  };
});
const root = fileURLToPath(new URL("..", import.meta.url));
const log = (m: string) => process.stderr.write(`soak: ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- services of the soak's own, on free ports
const { servicesDir, svc } = await startSoakServices(root);

let stopping = false;
async function abort(reason: unknown): Promise<never> {
  if (!stopping) {
    stopping = true;
    log(`stopping: ${reason instanceof Error ? reason.message : String(reason)}`);
    for (const pid of ownChildren()) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {}
    }
    await sleep(3000);
    if (!args.keep)
      execFileSync("bash", [join(root, "scripts/services"), "stop", "--dir", servicesDir], {
        stdio: "inherit",
      });
  }
  process.exit(1);
}
process.on("SIGINT", () => void abort("SIGINT"));
process.on("SIGTERM", () => void abort("SIGTERM"));
process.on("unhandledRejection", (err) => void abort(err));
process.on("uncaughtException", (err) => void abort(err));

const mqttPort = await freePort();
// the bench harness would put the WebSocket listener on port + 1, which may be taken
const pipe = await startPipeline(svc, devicesN, mqttPort, { MQTT_WS_PORT: String(await freePort()) });
const processes: Record<string, () => number | undefined> = {
  broker: () => pipe.pids()[0],
  worker: () => pipe.pids()[1],
};
let api: Awaited<ReturnType<typeof spawnReady>> | undefined;
if (!args["no-api"]) {
  api = await spawnReady(
    process.execPath,
    ["--import", "tsx", "api/main.ts"],
    {
      ...process.env,
      DATABASE_URL: benchDbUrl(svc),
      REDIS_URL: svc.redisUrl,
      HTTP_PORT: String(await freePort()),
      HTTP_HOST: "127.0.0.1",
      ADMIN_TOKEN: randomBytes(24).toString("hex"),
      DATA_DIR: servicesDir,
      LOG_LEVEL: "info",
    },
    /Server listening/,
  );
  processes.api = () => api?.child.pid;
}
const redis = pipe.redis;

// --- publishers
interface Interval {
  sent: number;
  acked: number;
  errors: number;
  ackP50: number;
  ackP99: number;
  ackMax: number;
}
let intervals: (Interval & { at: number })[] = [];
let publishers: ChildProcess[] = [];
const jobDir = mkdtempSync(join(tmpdir(), "lt-soak-"));

async function startPublishers(rate: number): Promise<void> {
  const n = publishersN;
  publishers = await Promise.all(
    Array.from({ length: n }, async (_, p) => {
      const file = join(jobDir, `job-${p}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          url: `mqtt://127.0.0.1:${mqttPort}`,
          devices: pipe.devices.filter((_, i) => i % n === p),
          rate: rate / n,
          reportMs: ladder ? 1000 : 10_000,
        }),
      );
      const child = spawn(
        process.execPath,
        ["--import", "tsx", join(root, "scripts/soak-publisher.ts"), file],
        {
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      await new Promise<void>((resolve, reject) => {
        let buf = "";
        child.stdout?.on("data", (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split("\n");
          buf = lines.pop() ?? "";
          for (const l of lines) {
            const m = JSON.parse(l) as Interval & { ready?: boolean };
            if (m.ready) resolve();
            else intervals.push({ ...m, at: performance.now() });
          }
        });
        child.on("exit", (code) => reject(new Error(`publisher exited (${code})`)));
      });
      return child;
    }),
  );
}

async function stopPublishers(): Promise<void> {
  await Promise.all(
    publishers.map(
      (c) =>
        new Promise<void>((r) => {
          c.removeAllListeners("exit");
          c.on("exit", () => r());
          c.kill("SIGTERM");
        }),
    ),
  );
  publishers = [];
}

const delivered = async () => Number((await redis.hget(redisKeys.metrics, "worker_fixes_inserted")) ?? 0);
const waiting = async () => {
  let n = 0;
  const partitions = Number(process.env.QUEUE_PARTITIONS ?? DEFAULT_QUEUE_PARTITIONS);
  for (let p = 0; p < partitions; p++) n += await redis.llen(`bull:${locationQueueName(p)}:wait`);
  return n;
};
const brokerBeat = async (): Promise<Partial<BrokerHeartbeat>> =>
  (await readHeartbeats(redis)).find(isBrokerHeartbeat) ?? {};
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function drain(timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = -1;
  while (Date.now() < end) {
    const now = await delivered();
    if (now === last && (await waiting()) === 0) return;
    last = now;
    await sleep(1000);
  }
}

async function cleanup(): Promise<void> {
  await stopPublishers();
  await api?.stop();
  await pipe.stop();
  rmSync(jobDir, { recursive: true, force: true });
  if (!args.keep)
    execFileSync("bash", [join(root, "scripts/services"), "stop", "--dir", servicesDir], {
      stdio: "inherit",
    });
}

// --- ladder: the maximum single-fix throughput
if (ladder) {
  const rows: string[] = [];
  for (const rate of ladder) {
    intervals = [];
    await startPublishers(rate);
    await sleep(3000);
    const d0 = await delivered();
    const t0 = performance.now();
    await sleep(stepS * 1000);
    const perS = (await delivered()) - d0;
    const fixesPerS = perS / ((performance.now() - t0) / 1000);
    await stopPublishers();
    const window = intervals.filter((i) => i.at > t0 + 1000);
    const p99 = Math.max(0, ...window.map((i) => i.ackP99));
    const ackedPerS = window.reduce((a, i) => a + i.acked, 0) / (window.length / publishersN);
    // kept up: commits follow the offered rate (a window's count wobbles a few % with batching)
    // and PUBACKs stay well below a second
    const sustained = fixesPerS >= 0.9 * rate && p99 < 1000;
    rows.push(
      `| ${rate} | ${Math.round(ackedPerS)} | ${Math.round(fixesPerS)} | ${p99.toFixed(0)} ms | ${sustained ? "sustained" : "NOT sustained"} |`,
    );
    log(rows[rows.length - 1] as string);
    await drain();
    if (!sustained) break;
  }
  console.log(
    [
      "| offered fixes/s | acked/s | committed fixes/s | PUBACK p99 | |",
      "|---|---|---|---|---|",
      ...rows,
    ].join("\n"),
  );
  await cleanup();
  process.exit(0);
}

// --- soak
log(`${minutes} min at ${rate} fixes/s from ${devicesN} devices (${publishersN} publisher processes)`);
await startPublishers(rate);
const table: Minute[] = [];
let d0 = await delivered();
let b0 = await readBuckets(redis);
const started = Date.now();
let ackedTotal = 0;
for (let m = 1; m <= minutes; m++) {
  let loopP99 = 0;
  let loopMax = 0;
  let maxWaiting = 0;
  const end = started + m * 60_000;
  while (Date.now() < end) {
    await sleep(Math.min(5000, Math.max(0, end - Date.now())));
    const beat = await brokerBeat();
    loopP99 = Math.max(loopP99, beat.loopDelayP99Ms ?? 0);
    loopMax = Math.max(loopMax, beat.loopDelayMaxMs ?? 0);
    maxWaiting = Math.max(maxWaiting, await waiting());
  }
  const d1 = await delivered();
  const b1 = await readBuckets(redis);
  const its = intervals;
  intervals = [];
  const row: Minute = {
    minute: m,
    offered: its.reduce((a, i) => a + i.sent, 0),
    acked: its.reduce((a, i) => a + i.acked, 0),
    errors: its.reduce((a, i) => a + i.errors, 0),
    committedPerS: (d1 - d0) / 60,
    ackP50: median(its.map((i) => i.ackP50)),
    ackP99: Math.max(0, ...its.map((i) => i.ackP99)),
    commitP99: bucketPercentile(b0, b1, 99),
    loopP99,
    loopMax,
    maxWaiting,
    rss: Object.fromEntries(Object.entries(processes).map(([k, pid]) => [k, mb(rssOf(pid()))])),
  };
  ackedTotal += row.acked;
  d0 = d1;
  b0 = b1;
  table.push(row);
  log(JSON.stringify(row));
}
await stopPublishers();
await drain();
const stored = await delivered();

// --- report
const section = soakSection(table, {
  minutes,
  rate,
  write: Boolean(args.write),
  withApi: Boolean(api),
  devices: devicesN,
  publishers: publishersN,
  processes: Object.keys(processes),
  ackedTotal,
  stored,
});
console.log(section);
if (args.write) {
  const doc = join(root, "docs/reliability.md");
  const text = readFileSync(doc, "utf8");
  const a = text.indexOf("<!-- soak:begin -->");
  const b = text.indexOf("<!-- soak:end -->");
  if (a < 0 || b < a) throw new Error("docs/reliability.md has no soak section markers");
  writeFileSync(doc, text.slice(0, a) + section + text.slice(b + "<!-- soak:end -->".length));
  mkdirSync(join(root, ".data"), { recursive: true });
  writeFileSync(join(root, ".data/soak-results.json"), JSON.stringify(table, null, 2));
}
await cleanup();
process.exit(0);
