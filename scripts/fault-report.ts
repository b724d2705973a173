import { fileURLToPath } from "node:url";

/**
 * What the fault-injection suite (test/faults) records, and the table `npm run faults:table`
 * renders from it into docs/reliability.md.
 */
export const FAULT_RESULTS = fileURLToPath(new URL("../.data/faults/results.json", import.meta.url));

export const BEGIN = "<!-- faults:begin -->";
export const END = "<!-- faults:end -->";

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
  /** the machine the suite ran on */
  machine: { cores: number; memGiB: number };
  load: string;
  /** one per fault, in the order they ran */
  results: FaultResult[];
  /** over the whole run; absent until the suite's last test has run */
  totals?: { acked: number; lost: number; corrupted: number; duplicates: number; storedUnacked: number };
  seconds?: number;
}

const fmt = (n: number | null, digits = 1) => (n === null ? "n/a" : n.toFixed(digits));

/** The table between the markers; `run` must be complete (totals and seconds recorded). */
export function renderFaultTable(run: Required<FaultRun>): string {
  const lines = [
    BEGIN,
    "Command: `npm run test:faults`, then `npm run faults:table` (test/faults/faults.test.ts; its own PostgreSQL and Redis under a",
    "temporary folder, broker and worker as processes of their own). Run " +
      `${run.date} on ${run.machine.cores} cores, ${run.machine.memGiB} GiB, shared with other work; ` +
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

/** `doc` with its fault section replaced by `table`; fails when the markers are missing. */
export function spliceFaultTable(doc: string, table: string): string {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`no ${BEGIN} … ${END} section`);
  return doc.slice(0, a) + table + doc.slice(b + END.length);
}
