import { bucketPercentile, readBuckets } from "./commit-latency.ts";
import { startCpuMeter } from "./cpu.ts";
import { runLoad } from "./load.ts";
import type { Step, ThroughputRun } from "./results.ts";
import type { Sut } from "./suts.ts";

export interface LadderOptions {
  mode: "single" | "batch50";
  /** offered messages per second, ascending */
  rates: number[];
  seconds: number;
  processes: number;
  cores: number;
  log: (msg: string) => void;
}

/**
 * Climbs the offered-load ladder against one system until a step is not sustained
 * (delivered < 95 % of offered, or p99 commit latency ≥ 1 s where it is measured).
 */
export async function ladder(
  sut: Sut & { redis?: import("ioredis").Redis },
  o: LadderOptions,
): Promise<ThroughputRun> {
  const fpm = o.mode === "single" ? 1 : 50;
  const steps: Step[] = [];
  for (const rate of o.rates) {
    const step = await measureStep(sut, { ...o, rate, fpm });
    steps.push(step);
    o.log(
      `  ${sut.name} ${o.mode} offered ${Math.round(step.offeredFixes)} fixes/s → delivered ${Math.round(step.deliveredFixes)}; ` +
        `PUBACK p99 ${step.ackP99.toFixed(1)} ms; commit p99 ${step.commitP99 ?? "n/a"} ms; ${step.sustained ? "sustained" : "NOT sustained"}`,
    );
    await drain(sut, 30_000);
    if (!step.sustained) break;
  }
  const sustained = steps.filter((s) => s.sustained);
  return {
    sut: sut.name,
    mode: o.mode,
    devices: sut.devices.length,
    steps,
    maxSustained: Math.max(0, ...sustained.map((s) => s.deliveredFixes)),
    peakDelivered: Math.max(0, ...steps.map((s) => s.deliveredFixes)),
  };
}

export async function measureStep(
  sut: Sut & { redis?: import("ioredis").Redis },
  o: { rate: number; fpm: number; seconds: number; processes: number; cores: number },
): Promise<Step> {
  const bucketsBefore = sut.redis ? await readBuckets(sut.redis) : undefined;
  let peakRss = 0;
  let cpu: Record<string, number> | undefined;
  const result = await runLoad(
    {
      ...(sut.protocol ? { protocol: sut.protocol } : {}),
      urls: sut.urls,
      devices: sut.devices,
      rate: o.rate,
      seconds: o.seconds,
      processes: o.processes,
      fixesPerMessage: o.fpm,
      qos: 1,
    },
    async () => {
      // skip the publishers' ramp-up and stop before they do: a steady-state window
      const warm = Math.min(1000, o.seconds * 200);
      await new Promise((r) => setTimeout(r, warm));
      const d0 = await sut.delivered();
      const t0 = performance.now();
      const cpuMeter = startCpuMeter(sut.cpuGroups());
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, sut.rss());
      }, 250);
      await new Promise((r) => setTimeout(r, o.seconds * 1000 - 2 * warm));
      clearInterval(sampler);
      const d1 = await sut.delivered();
      cpu = cpuMeter();
      return (d1 - d0) / ((performance.now() - t0) / 1000);
    },
    o.cores,
  );
  const bucketsAfter = sut.redis ? await readBuckets(sut.redis) : undefined;
  const commitP50 =
    bucketsBefore && bucketsAfter ? bucketPercentile(bucketsBefore, bucketsAfter, 50) : undefined;
  const commitP99 =
    bucketsBefore && bucketsAfter ? bucketPercentile(bucketsBefore, bucketsAfter, 99) : undefined;
  const offeredFixes = o.rate * o.fpm;
  const delivered = result.during;
  return {
    offeredMsgs: o.rate,
    offeredFixes,
    deliveredFixes: delivered,
    fixesAcked: result.fixesAcked,
    ackP50: result.ackP50,
    ackP99: result.ackP99,
    commitP50,
    commitP99,
    loadCpuShare: result.loadCpuShare,
    cpu,
    rssMB: peakRss / 2 ** 20,
    sustained: delivered >= 0.95 * offeredFixes && (commitP99 === undefined || commitP99 < 1000),
  };
}

/** Waits until the system has delivered everything (its count stops moving), bounded. */
export async function drain(sut: Sut, timeoutMs: number): Promise<number> {
  const start = performance.now();
  let last = -1;
  let now = await sut.delivered();
  while (now !== last && performance.now() - start < timeoutMs) {
    await new Promise((r) => setTimeout(r, 500));
    last = now;
    now = await sut.delivered();
  }
  return (performance.now() - start) / 1000;
}
