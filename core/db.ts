import pg from "pg";

export type { Pool, PoolClient } from "pg";

// bigint counts (COUNT(*)) as numbers: our counts stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

export interface PoolOptions {
  /** PostgreSQL statement_timeout of every session (ms); none when unset */
  statementTimeoutMs?: number;
  /**
   * connections kept open however long they idle (pg-pool's `min`); those above it close after
   * `idleTimeoutMs`. A connection PostgreSQL has just started costs its first statements the
   * backend's warm-up (PostGIS loaded, catalogs read, each named statement parsed and planned).
   */
  keepOpen?: number;
  /** how long a connection above `keepOpen` may idle before it is closed (default 30 s) */
  idleTimeoutMs?: number;
}

export function createPool(databaseUrl: string, max = 10, opts: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    idleTimeoutMillis: opts.idleTimeoutMs ?? 30_000,
    min: opts.keepOpen ?? 0,
    // a connection kept open through hours of quiet learns of a peer or NAT that dropped it from
    // TCP keepalive, not from the first batch after the quiet hanging on it
    ...(opts.keepOpen ? { keepAlive: true, keepAliveInitialDelayMillis: 10_000 } : {}),
    ...(opts.statementTimeoutMs !== undefined ? { statement_timeout: opts.statementTimeoutMs } : {}),
  });
  // An idle client losing its connection (PostgreSQL restarted) must not crash the process;
  // the pool drops it and the next query gets a fresh one.
  pool.on("error", () => {});
  // A client checked out of the pool (a batch's transaction) has no error listener of its own:
  // PostgreSQL stopping (fast shutdown, failover) cut it and pg's 'error' event crashed the
  // process (test/faults, fault 2). The error still fails the query that was running, so the job
  // retries, and the pool discards the broken client when it is released.
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}
