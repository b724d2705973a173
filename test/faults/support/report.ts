import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname } from "node:path";
import { FAULT_RESULTS, type FaultResult, type FaultRun } from "../../../scripts/fault-report.ts";

/**
 * The suite's record of one run in .data/faults/results.json, rewritten after every fault so a
 * run cut short keeps what it measured; `npm run faults:table` renders it into docs/reliability.md.
 */
export class FaultRecord {
  readonly run: FaultRun;

  constructor(load: string) {
    this.run = {
      date: new Date().toISOString().slice(0, 10),
      machine: { cores: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30) },
      load,
      results: [],
    };
    this.save();
  }

  add(result: FaultResult): void {
    this.run.results.push(result);
    this.save();
  }

  finish(totals: NonNullable<FaultRun["totals"]>, seconds: number): void {
    this.run.totals = totals;
    this.run.seconds = seconds;
    this.save();
  }

  private save(): void {
    mkdirSync(dirname(FAULT_RESULTS), { recursive: true });
    writeFileSync(FAULT_RESULTS, `${JSON.stringify(this.run, null, 2)}\n`);
  }
}
