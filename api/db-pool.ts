import type pg from "pg";
import type { ApiConfig } from "../core/config.ts";
import { createPool } from "../core/db.ts";

/**
 * The API's PostgreSQL pool. Every query of a request runs under API_STATEMENT_TIMEOUT_MS: one a
 * caller made heavy (a long range, a lock it waits on) is cancelled by PostgreSQL and answered
 * 503 E_QUERY_TIMEOUT (api/errors.ts) instead of holding a pooled connection the other requests
 * need. Only the API's pool: the worker's batches and the migrations keep no such bound.
 */
export function createApiPool(
  config: Pick<ApiConfig, "DATABASE_URL" | "API_STATEMENT_TIMEOUT_MS">,
  max = 10,
): pg.Pool {
  return createPool(config.DATABASE_URL, max, { statementTimeoutMs: config.API_STATEMENT_TIMEOUT_MS });
}
