import { describe, expect, it } from "vitest";
import { median } from "../../../load/bench/calibration.ts";
import { bucketPercentile } from "../../../load/bench/commit-latency.ts";
import { BEGIN, END, renderMarkdown, renderSvg, spliceSection, spread } from "../../../load/bench/report.ts";
import type { BenchResults, Step } from "../../../load/bench/results.ts";
import { failure, maxSustained, refineBounds } from "../../../load/bench/throughput.ts";

const step = (delivered: number, sustained = true): Step => ({
  offeredMsgs: delivered,
  offeredFixes: delivered,
  deliveredFixes: delivered,
  fixesAcked: delivered,
  ackP50: 2,
  ackP99: 9,
  loadCpuShare: 0.4,
  rssMB: 120,
  sustained,
});

const results: BenchResults = {
  machine: { cores: 2, memGiB: 24, cpu: "test cpu", node: "v20", date: "2026-11-28" },
  command: "npm run bench -- --quick",
  calibration: { redisRttUs: 61.4, pgRttUs: 140.2, fsyncUs: 115, syscallNs: 310, kernelShare: 0.42 },
  quick: true,
  throughput: [
    {
      sut: "pipeline",
      mode: "single",
      devices: 500,
      steps: [
        { ...step(6000), cpu: { broker: 0.614, worker: 0.3, postgres: 0.42 } },
        { ...step(7000, false), failed: "delivered 80 %" },
      ],
      maxSustained: 6000,
      peakDelivered: 7000,
    },
    {
      sut: "pipeline",
      mode: "batch50",
      devices: 500,
      steps: [step(30000)],
      maxSustained: 30000,
      peakDelivered: 30000,
    },
    {
      sut: "aedes-relay",
      mode: "single",
      devices: 500,
      steps: [step(8000)],
      maxSustained: 8000,
      peakDelivered: 8000,
    },
    {
      sut: "naive",
      mode: "batch50",
      devices: 500,
      steps: [step(2000)],
      maxSustained: 2000,
      peakDelivered: 2000,
    },
  ],
  raw: [{ method: "COPY hex-EWKB", batch: 5000, parallel: 1, rowsPerSec: 40000 }],
  connections: {
    target: 20_000,
    perSecond: 1800,
    codes: { "0": 19_990, "3": 10 },
    brokerRefusals: { "broker_connects_refused{reason=rate}": 10 },
    held: 19_990,
    heldAfterKeepalive: 19_990,
    keepaliveS: 60,
    rssBeforeMB: 100,
    rssAfterMB: 500,
    bytesPerConnection: 21_000,
    fdLimit: 20_000,
  },
  queries: [
    {
      name: "one vehicle, one day track",
      rows: 1_000_000,
      runs: 1000,
      ingestFixesPerS: 980,
      p50: 1.2,
      p99: 3.4,
    },
  ],
  overload: {
    offeredFixes: 12000,
    deliveredFixes: 5000,
    ackP99: 800,
    commitP99: 2500,
    peakRssMB: 500,
    rssBeforeMB: 300,
    rssAfterMB: 400,
    rssMinuteAfterMB: 320,
    reconciled: { sent: 360_000, acked: 350_000, stored: 351_000, ackedNotStored: 0, storedNotAcked: 1_000 },
    acked: 100,
    stored: 100,
    recoveredInS: 2,
    loadCpuShare: 0.45,
    cpu: { broker: 0.5, worker: 0.2 },
  },
};

describe("benchmark report writer", () => {
  it("computes each goal's ratio from the run and says whether it is met", () => {
    const md = renderMarkdown(results);
    expect(md).toContain("| pipeline single / bare Aedes relay | 0.75 | ≥ 1.0 | **no** |");
    expect(md).toContain("| pipeline batch50 / fastest raw COPY | 0.75 | ≥ 0.5 | yes |");
    expect(md).toContain("| pipeline batch50 / naive batch50 | 15.00 | ≥ 10 | yes |");
    expect(md).toContain("Command: `npm run bench -- --quick`");
    expect(md).toContain("| pipeline | single | 500 | 7,000 | n/a | 7,000 |");
    expect(md).toContain("| 120 | no: delivered 80 % |");
    expect(md).toContain("| 40 % | broker 0.61 · worker 0.30 · postgres 0.42 | 120 |");
    expect(md).toContain("| 40 % | n/a | 120 |");
    expect(md).toContain("| one vehicle, one day track | 1,000,000 | 1,000 | 980 | 1.2 | 3.4 |");
    expect(md).toContain("| pipeline | single | 6,000 | 7,000 |");
    expect(md).toContain(
      "| 12,000 | 5,000 | 800 | 2,500 | 300 / 500 / 400 / 320 | 2 | 45 % | broker 0.50 · worker 0.20 |",
    );
    expect(md).toContain("| 360,000 | 350,000 | 351,000 | 0 | 1,000 | 9,000 |");
    expect(md).toContain(
      "| 20,000 | 1,800 | accepted 19,990 · CONNACK 3 10 | broker_connects_refused{reason=rate} 10 | 19,990 | 19,990 | 100 / 500 | 21,000 | 20,000 |",
    );
    expect(md).toContain("| overload delivered / max sustained | 0.83 | ≥ 0.8 | yes |");
  });

  it("replaces only its own section of BENCHMARKS.md", () => {
    const doc = `# Benchmarks\n\n## UI frame rate\n\n58 fps\n\n${BEGIN}\nold\n${END}\n\n## Analytics\n\nfast\n`;
    const next = spliceSection(doc, "new figures\n");
    expect(next).toContain("## UI frame rate\n\n58 fps");
    expect(next).toContain("## Analytics\n\nfast");
    expect(next).toContain("new figures");
    expect(next).not.toContain("old");
    expect(spliceSection(next, "newer\n").split(BEGIN)).toHaveLength(2);
    expect(spliceSection("", "first\n").startsWith(`# Benchmarks\n\n${BEGIN}`)).toBe(true);
  });

  it("draws one bar per system and mode, scaled to the largest", () => {
    const svg = renderSvg(results);
    expect(svg.match(/<rect /g)).toHaveLength(4);
    expect(svg).toContain("30,000");
    expect(svg).toMatch(/^<svg [^>]*><title>Max sustained fixes\/s/);
  });

  it("reads percentiles from the worker's latency buckets added during a step", () => {
    // one count per observation in its own bucket (HINCRBY per fix), not cumulative
    const before = new Map([
      [10, 5],
      [50, 5],
      [1000, 0],
      [Number.POSITIVE_INFINITY, 0],
    ]);
    const after = new Map([
      [10, 95],
      [50, 14],
      [1000, 2],
      [Number.POSITIVE_INFINITY, 0],
    ]);
    expect(bucketPercentile(before, after, 50)).toBe(10);
    expect(bucketPercentile(before, after, 99)).toBe(1000);
    expect(bucketPercentile(after, after, 99)).toBeUndefined();
  });

  it("shows each ratio as the median of the repetitions with its range, and judges the goal on the median", () => {
    const rep = (sut: string, v: number, repetition: number) => ({
      sut,
      mode: "single" as const,
      devices: 500,
      repetition,
      steps: [step(v)],
      maxSustained: v,
      peakDelivered: v,
    });
    const md = renderMarkdown({
      ...results,
      throughput: [
        rep("pipeline", 9000, 1),
        rep("aedes-relay", 10000, 1),
        rep("pipeline", 12000, 2),
        rep("aedes-relay", 10000, 2),
        rep("pipeline", 8000, 3),
        rep("aedes-relay", 10000, 3),
      ],
    });
    expect(md).toContain("| pipeline single / bare Aedes relay | 0.90 (0.80–1.20) | ≥ 1.0 | **no** |");
    expect(spread([3, undefined, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });

    // PUBACK p99 at half the relay's maximum: each repetition's own half, its first step at or above
    const ladder = (repetition: number, relayMax: number, acks: [number, number][]) => [
      {
        sut: "pipeline",
        mode: "single" as const,
        devices: 500,
        repetition,
        steps: acks.map(([offered, ackP99]) => ({ ...step(offered), ackP99 })),
        maxSustained: 9000,
        peakDelivered: 9000,
      },
      rep("aedes-relay", relayMax, repetition),
    ];
    const half = renderMarkdown({
      ...results,
      throughput: [
        ...ladder(1, 10000, [
          [3000, 5],
          [6000, 40],
          [9000, 300],
        ]),
        ...ladder(2, 14000, [
          [3000, 5],
          [6000, 20],
          [9000, 60],
        ]),
        ...ladder(3, 8000, [
          [3000, 5],
          [6000, 30],
          [9000, 90],
        ]),
      ],
    });
    expect(half).toContain(
      "| PUBACK p99 ms at half the relay's maximum (5,000 / 7,000 / 4,000 fixes/s) | 40.0 (30.0–60.0) | ≤ 50 | yes |",
    );
    expect(spread([])).toBeUndefined();
  });

  it("puts the machine's calibration row before the throughput tables", () => {
    const md = renderMarkdown(results);
    expect(md).toContain("| 61 | 140 | 115 | 310 | 42 % |");
    expect(md.indexOf("### Calibration")).toBeLessThan(md.indexOf("### Throughput"));
    expect(median([5, 1, 3, 100])).toBe(3);
  });

  it("fails a step for each reason it was not sustained, the generator's shortfall included", () => {
    expect(failure({ deliveredShare: 0.99, commitP99: 120, sentShare: 1 })).toBeUndefined();
    expect(failure({ deliveredShare: 0.99, sentShare: 0.9 })).toBe("sent 90 % of the offer");
    expect(failure({ deliveredShare: 0.5, commitP99: 1000, sentShare: 1 })).toBe(
      "delivered 50 %, commit p99 1000 ms",
    );
    // exact, not a bucket edge: 999 ms passes, 1000 ms does not
    expect(failure({ deliveredShare: 1, commitP99: 999, sentShare: 1 })).toBeUndefined();
  });

  it("refines a ladder between its highest sustained step and its first failing one", () => {
    expect(refineBounds([step(1500), step(3000, false)])).toEqual([1500, 3000]);
    // no step sustained: from zero
    expect(refineBounds([step(1500, false)])).toEqual([0, 1500]);
    // every step sustained: nothing to refine
    expect(refineBounds([step(1500), step(3000)])).toBeUndefined();
    // a refined step already sustained narrows the bounds
    expect(refineBounds([step(1500), step(3000, false), step(2250)])).toEqual([2250, 3000]);
  });

  it("reads a ladder's maximum off its sustained steps, never above what a step was offered", () => {
    const s = (offered: number, delivered: number, sustained = true) => ({
      offeredFixes: offered,
      deliveredFixes: delivered,
      sustained,
    });
    // 3,750 offered, 3,907 delivered while storing a pre-roll's backlog: it sustained 3,750
    expect(maxSustained([s(1500, 1510), s(3750, 3907), s(4500, 4833, false)])).toBe(3750);
    // a window short of its offer counts with what it delivered
    expect(maxSustained([s(1500, 1490), s(3000, 2950)])).toBe(2950);
    expect(maxSustained([s(1500, 1200, false)])).toBe(0);
  });
});
