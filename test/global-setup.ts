import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { withLocalServices } from "../core/local-services.ts";
import { migrate } from "../core/migrate.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const SERVICES_DIR = `${root}.data/test-services`;
const USERS_DIR = `${SERVICES_DIR}-users`;
const TEST_SERVICES = [
  "--dir",
  SERVICES_DIR,
  "--pg-port",
  process.env.LOGITRACK_TEST_PG_PORT ?? "54339",
  "--redis-port",
  process.env.LOGITRACK_TEST_REDIS_PORT ?? "63809",
];

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
    templateDb: string;
  }
}

/**
 * Once per run: provision the test services (scripts/services, on ports of their own so a
 * running `npm start` is untouched; DATABASE_URL/REDIS_URL set by the user win), and migrate a
 * template database that each test file clones (CREATE DATABASE … TEMPLATE) for isolation.
 */
export default async function setup(project: TestProject) {
  // several test runs may share the services (two terminals): each registers itself, the last one stops them
  mkdirSync(USERS_DIR, { recursive: true });
  writeFileSync(`${USERS_DIR}/${process.pid}`, "");
  const env = withLocalServices(process.env, TEST_SERVICES);
  const databaseUrl = env.DATABASE_URL as string;
  const redisUrl = env.REDIS_URL as string;
  const templateDb = `lt_template_${process.pid}`;

  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${templateDb}`);
  await admin.query(`CREATE DATABASE ${templateDb}`);
  await migrate(withDatabase(databaseUrl, templateDb));

  project.provide("databaseUrl", databaseUrl);
  project.provide("redisUrl", redisUrl);
  project.provide("templateDb", templateDb);

  return async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${templateDb} WITH (FORCE)`);
    await admin.end();
    rmSync(`${USERS_DIR}/${process.pid}`, { force: true });
    if (!process.env.DATABASE_URL && !process.env.KEEP_TEST_SERVICES && !otherRunsAlive()) {
      execFileSync("bash", [`${root}scripts/services`, "stop", ...TEST_SERVICES.slice(0, 2)], {
        stdio: "inherit",
      });
    }
  };
}

function otherRunsAlive(): boolean {
  return readdirSync(USERS_DIR).some((name) => {
    try {
      process.kill(Number(name), 0);
      return true;
    } catch {
      rmSync(`${USERS_DIR}/${name}`, { force: true });
      return false;
    }
  });
}

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}
