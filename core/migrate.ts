import { fileURLToPath } from "node:url";
import { runner } from "node-pg-migrate";
import type { Logger } from "./logger.ts";

const SQL_DIR = fileURLToPath(new URL("../sql", import.meta.url));

/** Applies every pending migration in sql/ (node-pg-migrate, table `pgmigrations`, advisory-locked). */
export async function migrate(databaseUrl: string, log?: Logger): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: SQL_DIR,
    direction: "up",
    migrationsTable: "pgmigrations",
    checkOrder: true,
    log: (msg: string) => log?.debug(msg),
  });
  return applied.map((m) => m.name);
}
