import pg from "pg";

export type { Pool, PoolClient } from "pg";

// bigint counts (COUNT(*)) as numbers: our counts stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

export function createPool(databaseUrl: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max, idleTimeoutMillis: 30_000 });
  // An idle client losing its connection (PostgreSQL restarted) must not crash the process;
  // the pool drops it and the next query gets a fresh one.
  pool.on("error", () => {});
  return pool;
}
