import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { FAULT_RESULTS, type FaultRun, renderFaultTable, spliceFaultTable } from "./fault-report.ts";

/**
 * `npm run faults:table`: writes the results of the last `npm run test:faults` run
 * (.data/faults/results.json) as the table in docs/reliability.md.
 */
const DOC = fileURLToPath(new URL("../docs/reliability.md", import.meta.url));

let run: FaultRun;
try {
  run = JSON.parse(readFileSync(FAULT_RESULTS, "utf8")) as FaultRun;
} catch (err) {
  console.error(
    `faults:table: cannot read ${FAULT_RESULTS} (${(err as Error).message}): run npm run test:faults`,
  );
  process.exit(1);
}
const { totals, seconds } = run;
if (!totals || seconds === undefined) {
  console.error(
    `faults:table: the run in ${FAULT_RESULTS} did not finish (no totals): run npm run test:faults`,
  );
  process.exit(1);
}
const table = renderFaultTable({ ...run, totals, seconds });
writeFileSync(DOC, spliceFaultTable(readFileSync(DOC, "utf8"), table));
console.log(`${table}\n\nwritten: docs/reliability.md`);
