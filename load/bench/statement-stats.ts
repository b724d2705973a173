import type pg from "pg";

/**
 * PostgreSQL's time per statement over a bench step, from pg_stat_statements (the bench's own
 * server loads it with the probe's --statements: scripts/services LOGITRACK_PG_STAT_STATEMENTS).
 * Execution time only (planning is not tracked): the server's CPU, bar what it waits on.
 */
export interface StatementTotals {
  query: string;
  calls: number;
  ms: number;
  rows: number;
}

export interface StatementCost {
  /** the statement's text, whitespace folded, cut to its start */
  query: string;
  calls: number;
  /** rows returned or written per call */
  rowsPerCall: number;
  /** execution time per stored fix, µs */
  usPerFix: number;
}

/** Every statement this database has run so far, by pg_stat_statements' key (query, role, nesting). */
export async function statementTotals(pool: pg.Pool): Promise<Map<string, StatementTotals>> {
  const { rows } = await pool.query<StatementTotals & { id: string }>(
    `SELECT queryid || '/' || userid || '/' || toplevel AS id, query, calls::float8 AS calls, total_exec_time AS ms,
            rows::float8 AS rows
     FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  return new Map(rows.map(({ id, ...t }) => [id, t]));
}

/** What each statement cost between two snapshots, per stored fix, the costliest first. */
export function statementCosts(
  before: ReadonlyMap<string, StatementTotals>,
  after: ReadonlyMap<string, StatementTotals>,
  fixes: number,
  top = 8,
): { usPerFix: number; statements: StatementCost[] } {
  if (fixes <= 0) return { usPerFix: 0, statements: [] };
  const costs: StatementCost[] = [];
  for (const [id, a] of after) {
    const b = before.get(id);
    const calls = a.calls - (b?.calls ?? 0);
    if (calls <= 0) continue;
    costs.push({
      query: a.query.replace(/\s+/g, " ").trim().slice(0, 70),
      calls,
      rowsPerCall: Math.round(((a.rows - (b?.rows ?? 0)) / calls) * 10) / 10,
      usPerFix: ((a.ms - (b?.ms ?? 0)) * 1000) / fixes,
    });
  }
  costs.sort((x, y) => y.usPerFix - x.usPerFix);
  const total = costs.reduce((s, c) => s + c.usPerFix, 0);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    usPerFix: round(total),
    statements: costs.slice(0, top).map((c) => ({ ...c, usPerFix: round(c.usPerFix) })),
  };
}
