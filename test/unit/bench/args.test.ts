import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  benchOutput,
  portBase,
  sections,
  UsageError,
  wholeNumber,
  wholeNumbers,
} from "../../../load/bench/args.ts";

describe("bench command lines (load/bench/args.ts)", () => {
  it("takes whole numbers in range and refuses anything else, naming the option", () => {
    expect(wholeNumbers("rates", "3000,6000")).toEqual([3000, 6000]);
    expect(wholeNumber("settle", "0", 0)).toBe(0);
    for (const bad of ["abc", "-5", "0", "1.5", "1e3", "", "99999999999"])
      expect(() => wholeNumber("seconds", bad, 1, 3600), bad).toThrow(/--seconds wants a whole number/);
    expect(() => wholeNumbers("rates", "3000,,6000")).toThrow(UsageError);
  });

  it("takes LOGITRACK_BENCH_PORT_BASE only when the ports above it stay at most 65535", () => {
    expect(portBase(3011, {})).toBe(21883);
    expect(portBase(3011, { LOGITRACK_BENCH_PORT_BASE: "31883" })).toBe(31883);
    expect(portBase(3011, { LOGITRACK_BENCH_PORT_BASE: "62524" })).toBe(62524);
    for (const bad of ["62525", "70000", "0", "-1", "abc", "", "2e4"])
      expect(() => portBase(3011, { LOGITRACK_BENCH_PORT_BASE: bad }), bad).toThrow(
        /^LOGITRACK_BENCH_PORT_BASE wants a whole number from 1 to 62524 \(ports up to 3011 above it\)/,
      );
  });

  it("knows the bench's sections", () => {
    expect(sections("throughput,alerts", ["throughput", "alerts"])).toEqual(["throughput", "alerts"]);
    expect(() => sections("nonsense", ["throughput"])).toThrow(/unknown: nonsense/);
  });

  it("lets only a full run write BENCHMARKS.md: a quick, partial, repeated or reconfigured one goes aside", () => {
    expect(benchOutput({ quick: false }, "side")).toBeUndefined();
    expect(benchOutput({ quick: true }, "side")).toBe("side");
    expect(benchOutput({ quick: false, only: "queries" }, "side")).toBe("side");
    expect(benchOutput({ quick: false, repeat: "1" }, "side")).toBe("side");
    expect(benchOutput({ quick: false, env: ["A=1"] }, "side")).toBe("side");
    expect(benchOutput({ quick: true, out: "/tmp/x.json" }, "side")).toBe("/tmp/x.json");
  });

  it("refuses a mistyped section before anything runs, and leaves BENCHMARKS.md as it was", () => {
    const before = readFileSync("BENCHMARKS.md", "utf8");
    const run = spawnSync(process.execPath, ["--import", "tsx", "load/bench/main.ts", "--only", "nonsense"], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("unknown: nonsense");
    expect(run.stdout).not.toContain("calibration");
    expect(readFileSync("BENCHMARKS.md", "utf8")).toBe(before);
  });
});
