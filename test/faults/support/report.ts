import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const DOC = `${root}docs/reliability.md`;
const BEGIN = "<!-- faults:begin -->";
const END = "<!-- faults:end -->";

export interface FaultResult {
  id: string;
  fault: string;
  /** fixes whose PUBACK arrived during the fault's window */
  acked: number;
  lost: number;
  corrupted: number;
  duplicates: number;
  /** longest time without any PUBACK during the window, s */
  ackGapS: number;
  ackP99Ms: number;
  /** from the fault cleared to every fix acknowledged until then being in PostgreSQL, s */
  catchUpS: number | null;
  maxQueueDepth: number;
  note: string;
}

export interface FaultRun {
  date: string;
  command: string;
  load: string;
  totals: { acked: number; lost: number; corrupted: number; duplicates: number; storedUnacked: number };
  results: FaultResult[];
  seconds: number;
}

const fmt = (n: number | null, digits = 1) => (n === null ? "n/a" : n.toFixed(digits));

export function renderFaultTable(run: FaultRun): string {
  const lines = [
    BEGIN,
    `Command: \`${run.command}\` (test/faults/faults.test.ts; its own PostgreSQL and Redis under a`,
    "temporary folder, broker and worker as processes of their own). Run " +
      `${run.date} on ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, shared with other work; ` +
      `whole suite ${Math.round(run.seconds)} s.`,
    `Load: ${run.load}.`,
    "",
    "| # | fault | fixes acked | lost | corrupted | rows per (vehicle, time) > 1 | longest PUBACK gap | PUBACK p99 | catch-up after clear | max queue depth (jobs) | notes |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...run.results.map(
      (r) =>
        `| ${r.id} | ${r.fault} | ${r.acked} | ${r.lost} | ${r.corrupted} | ${r.duplicates} | ${fmt(r.ackGapS)} s | ` +
        `${fmt(r.ackP99Ms, 0)} ms | ${r.catchUpS === null ? "n/a" : `${fmt(r.catchUpS)} s`} | ${r.maxQueueDepth} | ${r.note} |`,
    ),
    "",
    `Whole run: ${run.totals.acked} fixes acknowledged, ${run.totals.lost} lost, ${run.totals.corrupted} corrupted, ` +
      `${run.totals.duplicates} stored twice; ${run.totals.storedUnacked} stored without their PUBACK reaching the ` +
      "publisher (in flight at a kill: at-least-once, the resend was stored once).",
    END,
  ];
  return lines.join("\n");
}

/** Writes the results JSON (always) and, with WRITE_DOCS=1, the table into docs/reliability.md. */
export function saveFaultRun(run: FaultRun): string {
  const table = renderFaultTable(run);
  const json = `${root}.data/faults/results.json`;
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(json, `${JSON.stringify(run, null, 2)}\n`);
  if (process.env.WRITE_DOCS === "1") {
    const doc = readFileSync(DOC, "utf8");
    const a = doc.indexOf(BEGIN);
    const b = doc.indexOf(END);
    if (a < 0 || b < a) throw new Error(`${DOC} has no ${BEGIN} … ${END} section`);
    writeFileSync(DOC, doc.slice(0, a) + table + doc.slice(b + END.length));
  }
  return table;
}
