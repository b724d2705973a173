import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../core/free-port.ts";
import { withLocalServices } from "../core/local-services.ts";

/**
 * PostgreSQL and Redis of the soak's own (scripts/services, under .data/soak, on free ports), so a
 * soak never touches `npm start`'s or the tests' services.
 */
export async function startSoakServices(root: string): Promise<{
  servicesDir: string;
  svc: { databaseUrl: string; redisUrl: string };
}> {
  const servicesDir = join(root, ".data", "soak");
  const args = [
    "--dir",
    servicesDir,
    "--pg-port",
    String(await freePort()),
    "--redis-port",
    String(await freePort()),
  ];
  const env = { ...process.env };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const started = withLocalServices(env, args);
  const databaseUrl = started.DATABASE_URL;
  const redisUrl = started.REDIS_URL;
  if (!databaseUrl || !redisUrl) throw new Error("scripts/services started no PostgreSQL or Redis");
  return { servicesDir, svc: { databaseUrl, redisUrl } };
}

/** This process's own children (/proc), for a cleanup when something failed half-way. */
export function ownChildren(): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === process.pid) out.push(Number(d));
    } catch {}
  }
  return out;
}
