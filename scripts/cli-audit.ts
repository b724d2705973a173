import { hostname, userInfo } from "node:os";
import type pg from "pg";
import { recordAudit } from "../core/audit.ts";

/** CLI commands that change nothing, and so leave no audit row. */
const READS = new Set([
  "vehicle list",
  "user list",
  "token list",
  "integration list",
  "queue stats",
  "group list",
]);

/** The API's name for what a command changes (GET /api/audit?entity=…). */
const ENTITIES: Record<string, string> = {
  vehicle: "vehicles",
  user: "users",
  token: "tokens",
  integration: "integrations",
  group: "groups",
  queue: "queues",
  migrate: "schema",
  recompute: "derived",
};

/** Options worth recording; never a password or a secret. */
const KEPT_OPTIONS = ["name", "plate", "imei", "role", "groups", "vehicle", "dry-run", "use-current-env"];

/**
 * The CLI's audit row (core/audit.ts): a write command, its argument, the options that say what
 * it did, and its exit code, as `cli:<os user>` (the CLI reaches the database directly, so the
 * API's hook never sees it). A dry run changes nothing but is recorded like any recompute.
 */
export async function auditCliCommand(
  pool: pg.Pool,
  cmd: string,
  arg: string | undefined,
  opts: Record<string, unknown>,
  exitCode: number,
): Promise<void> {
  if (READS.has(cmd) || cmd === "") return;
  const params: Record<string, unknown> = { host: hostname() };
  for (const k of KEPT_OPTIONS) if (opts[k] !== undefined && opts[k] !== false) params[k] = opts[k];
  await recordAudit(pool, {
    actor: `cli:${userInfo().username}`,
    source: "cli",
    ip: null,
    action: cmd,
    entity: ENTITIES[cmd.split(" ")[0] ?? ""] ?? cmd,
    entityId: arg ?? null,
    params,
    status: exitCode,
    before: null,
    after: null,
    requestId: null,
  });
}
