import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { type RunResult, runToEnd } from "../../support/processes.ts";

const root = fileURLToPath(new URL("../../..", import.meta.url));

interface Case {
  file: string;
  args: string[];
  env?: Record<string, string>;
  /** what stderr's one line names */
  names: string;
}

// each a typo that used to start a run, fail in the middle of one or pass unnoticed
const cases: Case[] = [
  { file: "load/bench/profile.ts", args: ["--rate", "abc"], names: "--rate" },
  { file: "load/bench/profile.ts", args: ["--systems", "pipeline,relai"], names: "--systems" },
  { file: "load/bench/profile.ts", args: ["--process", "workers"], names: "--process" },
  { file: "load/bench/profile.ts", args: ["--process", "worker"], names: "--process worker" },
  { file: "load/bench/profile.ts", args: ["--after-pause", "soon"], names: "--after-pause" },
  {
    file: "load/bench/profile.ts",
    args: [],
    env: { LOGITRACK_BENCH_PORT_BASE: "63000" },
    names: "LOGITRACK_BENCH_PORT_BASE",
  },
  { file: "load/bench/analytics.ts", args: ["--rows", "1e9x"], names: "--rows" },
  { file: "load/bench/ui-fps.ts", args: ["--vehicles", "0"], names: "--vehicles" },
  { file: "scripts/soak.ts", args: ["--minutes=-5"], names: "--minutes" },
  { file: "scripts/soak.ts", args: ["--devices", "1", "--publishers", "2"], names: "--publishers" },
  { file: "load/bench/batch-ab.ts", args: ["--old", ".", "--batches", "abc"], names: "--batches" },
  { file: "load/bench/coalesce.ts", args: ["--jobs", "0"], names: "--jobs" },
  { file: "load/bench/osmand-cost.ts", args: ["--concurrency", "0"], names: "--concurrency" },
  { file: "load/bench/cpuprofile-sum.ts", args: ["--messages", "abc"], names: "--messages" },
  { file: "load/bench/track-split.ts", args: ["--rounds", "0"], names: "--rounds" },
  { file: "load/bench/machine-cost.ts", args: ["--fixes-per-batch", "1,,4"], names: "--fixes-per-batch" },
];

/** the tool with its arguments and environment, from the repository's root */
const run = (c: Case): Promise<RunResult> =>
  runToEnd(process.execPath, ["--import", "tsx", c.file, ...c.args], {
    cwd: root,
    env: { ...process.env, ...c.env },
  });

describe("bench and soak tools refuse a mistyped number before anything starts", () => {
  // all spawned at once: tsx's start is most of each
  const runs = new Map<Case, Promise<RunResult>>();
  beforeAll(() => {
    for (const c of cases) runs.set(c, run(c));
  });

  for (const c of cases) {
    const env = Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${v} `);
    it(`${env.join("")}${c.file} ${c.args.join(" ")}`, async () => {
      const r = await (runs.get(c) as Promise<RunResult>);
      expect(r.code, r.stderr).toBe(2);
      // one line naming the option, and nothing started
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(c.names);
      expect(r.stdout).toBe("");
    });
  }
});
