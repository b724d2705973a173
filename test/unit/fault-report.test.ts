import { describe, expect, it } from "vitest";
import { BEGIN, END, type FaultRun, renderFaultTable, spliceFaultTable } from "../../scripts/fault-report.ts";

const run: Required<FaultRun> = {
  date: "2026-01-02",
  machine: { cores: 2, memGiB: 24 },
  load: "80 trucks",
  results: [
    {
      id: "1",
      fault: "worker SIGKILL",
      acked: 1495,
      lost: 0,
      corrupted: 0,
      duplicates: 0,
      ackGapS: 0.06,
      ackP99Ms: 33.4,
      catchUpS: 1.04,
      maxQueueDepth: 378,
      note: "retried",
    },
    {
      id: "2",
      fault: "PostgreSQL stopped",
      acked: 10,
      lost: 1,
      corrupted: 0,
      duplicates: 0,
      ackGapS: 0,
      ackP99Ms: 29,
      catchUpS: null,
      maxQueueDepth: 0,
      note: "",
    },
  ],
  totals: { acked: 1505, lost: 1, corrupted: 0, duplicates: 0, storedUnacked: 2 },
  seconds: 122.6,
};

describe("the fault table (npm run faults:table)", () => {
  it("renders one row per fault, in order, with the run's machine and totals", () => {
    const table = renderFaultTable(run);
    const lines = table.split("\n");
    expect(lines[0]).toBe(BEGIN);
    expect(lines.at(-1)).toBe(END);
    expect(table).toContain("Run 2026-01-02 on 2 cores, 24 GiB, shared with other work; whole suite 123 s.");
    expect(table).toContain("Load: 80 trucks.");
    expect(lines.filter((l) => /^\| \d /.test(l))).toEqual([
      "| 1 | worker SIGKILL | 1495 | 0 | 0 | 0 | 0.1 s | 33 ms | 1.0 s | 378 | retried |",
      "| 2 | PostgreSQL stopped | 10 | 1 | 0 | 0 | 0.0 s | 29 ms | n/a | 0 |  |",
    ]);
    expect(table).toContain(
      "Whole run: 1505 fixes acknowledged, 1 lost, 0 corrupted, 0 stored twice; 2 stored",
    );
  });

  it("replaces only the section between the markers, and refuses a document without them", () => {
    const doc = `# Reliability\n\nbefore\n\n${BEGIN}\nstale-table\n${END}\n\nafter\n`;
    const next = spliceFaultTable(doc, renderFaultTable(run));
    expect(next.startsWith("# Reliability\n\nbefore\n\n")).toBe(true);
    expect(next.endsWith("\n\nafter\n")).toBe(true);
    expect(next).not.toContain("stale-table");
    expect(spliceFaultTable(next, `${BEGIN}\nnew\n${END}`)).toBe(doc.replace("stale-table", "new"));
    expect(() => spliceFaultTable("# no section\n", "x")).toThrow(/faults:begin/);
  });
});
