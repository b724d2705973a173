import { Agent, request } from "node:http";
import { parseArgs } from "node:util";
import { portBase, usageOr, wholeNumber } from "./args.ts";
import { cpuSecondsOf, startCpuMeter } from "./cpu.ts";
import { startDevicePipeline } from "./device-suts.ts";
import { benchServices, killSpawned } from "./suts.ts";

/**
 * `node --import tsx load/bench/osmand-cost.ts [--requests 6000] [--concurrency 32] [--cpu-prof]`:
 * the CPU one OsmAnd request costs each process of the pipeline (API, worker, PostgreSQL, Redis),
 * in a closed loop of `concurrency` requests in flight, so that the pipeline is never overloaded
 * and the figure holds on a machine others share (CPU time, read from /proc, is not wall time).
 * Every device reports once first (its key then cached), then the measured requests.
 * `--cpu-prof` writes the processes' profiles to .data/cpu-prof. Writes nothing else.
 */
const { values: args } = usageOr(() =>
  parseArgs({
    options: {
      requests: { type: "string", default: "6000" },
      concurrency: { type: "string", default: "32" },
      "cpu-prof": { type: "boolean", default: false },
    },
  }),
);
const { n, concurrency, port } = usageOr(() => ({
  // the fixes' times start an hour ago, a second per 500 requests: none in the future
  n: wholeNumber("requests", args.requests as string, 1, 1_000_000),
  concurrency: wholeNumber("concurrency", args.concurrency as string, 1, 1000),
  // the pipeline at base + 2000 (and + 1), its OsmAnd listener + 5, the API + 6
  port: portBase(2006) + 2000,
}));
process.on("exit", killSpawned);
const profile = args["cpu-prof"] ? ["--cpu-prof", "--cpu-prof-dir=.data/cpu-prof"] : [];
const sut = await startDevicePipeline(benchServices(), 500, port, "osmand", profile);
const apiPid = sut.pids().at(-1) as number;
const url = new URL(sut.urls[0] as string);
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const firstS = Math.floor(Date.now() / 1000) - 3600;

function send(i: number): Promise<number> {
  const device = sut.devices[i % sut.devices.length];
  // distinct (vehicle, time) per request: every fix is a row
  const at = (firstS + Math.floor(i / sut.devices.length)) * 1000 + (i % 1000);
  const body = JSON.stringify({
    location: {
      timestamp: new Date(at).toISOString(),
      coords: { latitude: 25.1, longitude: 55.2, speed: 10, heading: 90 },
    },
    device_id: device?.deviceKey,
  });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: "POST",
        path: "/",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

let next = 0;
async function run(until: number): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  const loop = async () => {
    while (next < until) {
      const status = await send(next++);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return statuses;
}

await run(sut.devices.length);
const apiCpu0 = cpuSecondsOf(apiPid);
const meter = startCpuMeter(sut.cpuGroups());
const t0 = performance.now();
const statuses = await run(sut.devices.length + n);
const wallS = (performance.now() - t0) / 1000;
const cores = meter();
console.log(
  JSON.stringify({
    requests: n,
    concurrency,
    statuses,
    requestsPerS: Math.round(n / wallS),
    apiCpuMsPerRequest: Number((((cpuSecondsOf(apiPid) - apiCpu0) * 1000) / n).toFixed(3)),
    cpuMsPerRequest: Object.fromEntries(
      Object.entries(cores).map(([k, v]) => [k, Number(((v * wallS * 1000) / n).toFixed(3))]),
    ),
  }),
);
await sut.stop();
process.exit(0);
