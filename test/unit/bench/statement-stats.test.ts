import { describe, expect, it } from "vitest";
import { type StatementTotals, statementCosts } from "../../../load/bench/statement-stats.ts";

const totals = (entries: [string, StatementTotals][]) => new Map(entries);

describe("statementCosts: PostgreSQL's time per statement over a step", () => {
  it("is the difference between two snapshots per stored fix, costliest first, new statements included", () => {
    const before = totals([
      ["1", { query: "INSERT INTO vehicle_locations\n  (a, b)", calls: 10, ms: 5, rows: 500 }],
      ["2", { query: "SELECT 1", calls: 3, ms: 1, rows: 3 }],
    ]);
    const after = totals([
      ["1", { query: "INSERT INTO vehicle_locations\n  (a, b)", calls: 30, ms: 25, rows: 1500 }],
      ["2", { query: "SELECT 1", calls: 3, ms: 1, rows: 3 }], // not run in the step: left out
      ["3", { query: "UPDATE vehicle_state", calls: 20, ms: 40, rows: 1000 }],
    ]);
    expect(statementCosts(before, after, 1000)).toEqual({
      usPerFix: 60,
      statements: [
        { query: "UPDATE vehicle_state", calls: 20, rowsPerCall: 50, usPerFix: 40 },
        { query: "INSERT INTO vehicle_locations (a, b)", calls: 20, rowsPerCall: 50, usPerFix: 20 },
      ],
    });
  });

  it("reports nothing for a step that stored nothing, and keeps only the top ones", () => {
    const after = totals(
      Array.from({ length: 12 }, (_, i): [string, StatementTotals] => [
        String(i),
        { query: `q${i}`, calls: 1, ms: i + 1, rows: 1 },
      ]),
    );
    expect(statementCosts(new Map(), after, 0)).toEqual({ usPerFix: 0, statements: [] });
    const r = statementCosts(new Map(), after, 1000, 3);
    expect(r.statements.map((s) => s.query)).toEqual(["q11", "q10", "q9"]);
    expect(r.usPerFix).toBe(78); // every statement's time, not only the top three
  });
});
