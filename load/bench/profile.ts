import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { counterField } from "../../core/metrics-catalogue.ts";
import { type Redis, redisKeys } from "../../core/redis.ts";
import { seedBenchAlertRules } from "./alert-fixtures.ts";
import { portBase, UsageError, usageOr, wholeNumber } from "./args.ts";
import { startRelay } from "./baselines.ts";
import { startCpuMeter } from "./cpu.ts";
import { type CpuProfile, sumProfile, table } from "./cpuprofile-sum.ts";
import { runLoad } from "./load.ts";
import { benchServices, envPairs, killSpawned, type Sut, startPipeline } from "./suts.ts";
import { measureStep } from "./throughput.ts";

/**
 * `npm run -s bench:profile -- [--systems pipeline,relay] [--rate 2500] [--seconds 10] [--devices 2000]
 * [--env KEY=VALUE …] [--top 40] [--process broker|worker] [--alert-rules] [--after-pause 35]`: the broker's CPU per
 * published message by function, from V8 profiles (node --cpu-prof); with `--process worker`, the
 * pipeline's worker per stored fix instead, and with `--alert-rules` the pipeline has the alerts
 * section's 25 geofences and 100 rules (alert-fixtures.ts). Each system (the pipeline's broker process, the bare Aedes relay) runs
 * a warm-up step, then one single-fix step at the fixed rate; only the samples taken during that
 * step count (V8's clock is process.hrtime's), divided by the messages the generators sent in it.
 * "busy" is the broker's main thread outside the event loop's wait: JavaScript, native code and the
 * system calls made from them. With `--after-pause S` the system idles S seconds after its warm-up
 * (its devices gone, as in a cellular outage) and the profile covers the devices coming back: one
 * window from the load's start until every device is connected (per device), one over the first
 * `--seconds` of publishing, from the first message on. Profiles stay in .data/cpu-prof/<system>;
 * writes nothing else.
 */
const { values: args } = usageOr(() =>
  parseArgs({
    options: {
      systems: { type: "string", default: "pipeline,relay" },
      rate: { type: "string", default: "2500" },
      seconds: { type: "string", default: "12" },
      devices: { type: "string", default: "2000" },
      env: { type: "string", multiple: true },
      top: { type: "string", default: "40" },
      process: { type: "string", default: "broker" },
      "alert-rules": { type: "boolean", default: false },
      "after-pause": { type: "string", default: "0" },
    },
  }),
);
const { systems, rate, seconds, devices, top, extra, base, role, pauseS } = usageOr(() => {
  const role = args.process as string;
  if (role !== "broker" && role !== "worker")
    throw new UsageError(`--process wants broker or worker, got '${role}'`);
  const systems = (args.systems as string).split(",");
  for (const s of systems)
    if (s !== "pipeline" && s !== "relay")
      throw new UsageError(`--systems wants pipeline and/or relay, got '${args.systems}'`);
  if (role === "worker" && systems.includes("relay"))
    throw new UsageError("--process worker profiles the pipeline only: add --systems pipeline");
  return {
    role,
    systems,
    rate: wholeNumber("rate", args.rate as string, 1, 1_000_000),
    // the window is the step less its first and last second
    seconds: wholeNumber("seconds", args.seconds as string, 3, 3600),
    devices: wholeNumber("devices", args.devices as string, 1, 100_000),
    top: wholeNumber("top", args.top as string, 1, 10_000),
    extra: envPairs(args.env),
    pauseS: wholeNumber("after-pause", args["after-pause"] as string, 0, 3600),
    // system i listens at base + 3000 + 10 i (a pipeline's WebSocket one above)
    base: portBase(3000 + 10 * (systems.length - 1) + 1) + 3000,
  };
});
process.on("exit", killSpawned);
const step = { rate, fpm: 1, seconds, processes: 2, cores: 2 };

for (const [i, system] of systems.entries()) {
  const dir = `.data/cpu-prof/${system}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const nodeArgs = ["--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=500"];
  const port = base + 10 * i;
  let sut: Sut;
  if (system === "pipeline") {
    const pipe = await startPipeline(benchServices(), devices, port, extra, nodeArgs);
    if (args["alert-rules"]) await seedBenchAlertRules(pipe.pool, pipe.devices);
    sut = pipe;
  } else sut = await startRelay("aedes", devices, port, nodeArgs);
  const pid = sut.pids()[role === "worker" ? 1 : 0] as number;
  // what the broker handled: the pipeline's bridge counts what it queued, the relay's subscriber
  // what it got; what the worker handled: the fixes it stored
  const redis = "redis" in sut ? (sut.redis as Redis) : undefined;
  const handled = async () =>
    redis && role === "broker"
      ? Number((await redis.hget(redisKeys.metrics, counterField("bridge_fixes_accepted"))) ?? 0)
      : sut.delivered();
  await measureStep(sut, { ...step, seconds: Math.max(3, seconds / 2) });
  if (pauseS > 0) await sleep(pauseS * 1000);
  let from = 0;
  let to = 0;
  let messages = 0;
  let cpu: Record<string, number> = {};
  const redisCalls = new Map<string, number>();
  let io = { reads: 0, writes: 0 };
  // after a pause: the window opens as the devices start connecting
  const loadStart = hrUs();
  let connected = 0;
  // the publishers are connected before `during` runs: without a pause the window is steady
  // publishing only (a second in from either end); after one, it starts with the first message
  const load = await runLoad(
    { urls: sut.urls, devices: sut.devices, rate, seconds, processes: 2, fixesPerMessage: 1, qos: 1 },
    async () => {
      connected = hrUs();
      if (pauseS === 0) await sleep(1000);
      const h0 = await handled();
      const c0 = redis ? await commandCalls(redis) : new Map<string, number>();
      const io0 = syscalls(pid);
      const meter = startCpuMeter(sut.cpuGroups());
      from = hrUs();
      await sleep(seconds * 1000 - (pauseS === 0 ? 2000 : 0));
      to = hrUs();
      cpu = meter();
      const io1 = syscalls(pid);
      io = { reads: io1.reads - io0.reads, writes: io1.writes - io0.writes };
      messages = (await handled()) - h0;
      if (redis)
        for (const [cmd, n] of await commandCalls(redis)) {
          const d = n - (c0.get(cmd) ?? 0);
          if (d > 0) redisCalls.set(cmd, d);
        }
    },
    2,
  );
  await sut.stop();
  // the main thread's profile (thread 0; tsx's module loader thread writes one of its own)
  const file = readdirSync(dir).find((f) => f.includes(`.${pid}.0.`));
  if (!file) throw new Error(`no profile of pid ${pid} in ${dir}`);
  const profile = JSON.parse(readFileSync(`${dir}/${file}`, "utf8")) as CpuProfile;
  const sums = sumProfile(profile, from, to);
  if (pauseS > 0) {
    const c = sumProfile(profile, loadStart, connected);
    console.log(
      `\n## ${system}, ${role}: ${devices} devices coming back after ${pauseS} s away, ` +
        `${((connected - loadStart) / 1e6).toFixed(1)} s from the load's start until all were connected\n` +
        `${role} main thread busy ${(c.busyUs / devices).toFixed(0)} µs per device ` +
        `(${((100 * c.busyUs) / Math.max(1, c.windowUs)).toFixed(0)} % of the window)\n`,
    );
    console.log(table(c.byArea, devices, 25).join("\n"));
    console.log("");
    console.log(table(c.byFunction, devices, top).join("\n"));
  }
  const cores = Object.entries(cpu)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(", ");
  const windowS = (to - from) / 1e6;
  console.log(
    `\n## ${system}${args["alert-rules"] ? " with 100 alert rules" : ""}, ${role}: ${messages} ${role === "worker" ? "fixes stored" : "messages handled"} in the ${windowS.toFixed(1)} s window of a ${rate}/s step${pauseS > 0 ? " (its first seconds, after the pause)" : ""} ` +
      `(PUBACK p99 ${load.ackP99.toFixed(1)} ms; cores: ${cores}; ` +
      `${((1e6 * (cpu[role] ?? 0) * windowS) / messages).toFixed(1)} µs ${role} CPU per message from /proc)\n` +
      `${role} system calls per message: ${(io.reads / messages).toFixed(2)} reads, ` +
      `${(io.writes / messages).toFixed(2)} writes (/proc/PID/io)\n` +
      `profile ${dir}/${file}, window --from ${from} --to ${to}\n` +
      `${role} main thread busy ${(sums.busyUs / messages).toFixed(1)} µs per message ` +
      `(${((100 * sums.busyUs) / sums.windowUs).toFixed(0)} % of the window)\n`,
  );
  if (redisCalls.size > 0)
    console.log(
      `Redis commands per message: ${[...redisCalls]
        .sort((a, b) => b[1] - a[1])
        .map(([cmd, n]) => `${cmd} ${(n / messages).toFixed(3)}`)
        .join(", ")}\n`,
    );
  console.log(table(sums.byArea, messages, 25).join("\n"));
  console.log("");
  console.log(table(sums.byFunction, messages, top).join("\n"));
}
process.exit(0);

/** read and write system calls of a process so far (Linux /proc/PID/io: syscr, syscw) */
function syscalls(pid: number): { reads: number; writes: number } {
  const io = readFileSync(`/proc/${pid}/io`, "utf8");
  return {
    reads: Number(/^syscr: (\d+)/m.exec(io)?.[1] ?? 0),
    writes: Number(/^syscw: (\d+)/m.exec(io)?.[1] ?? 0),
  };
}

/** Calls per Redis command since the server started (INFO commandstats), the profiler's own included. */
async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of (await redis.info("commandstats")).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    out.set(m[1] as string, Number(m[2]));
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function hrUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
