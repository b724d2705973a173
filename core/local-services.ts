import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const SERVICES = fileURLToPath(new URL("../scripts/services", import.meta.url));

/**
 * DATABASE_URL and REDIS_URL for a local run: those the user set win; otherwise
 * scripts/services provisions (installs when missing, then starts) the private instances and
 * reports theirs. Returns a copy of `env` with both set.
 */
export function withLocalServices(
  env: NodeJS.ProcessEnv = process.env,
  args: string[] = [],
): NodeJS.ProcessEnv {
  if (env.DATABASE_URL && env.REDIS_URL) return env;
  const out = execFileSync("bash", [SERVICES, "start", ...args], {
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const result = { ...env };
  for (const line of out.split("\n")) {
    const m = /^export (DATABASE_URL|REDIS_URL)=(.*)$/.exec(line.trim());
    if (m) result[m[1] as string] = (m[2] as string).replace(/^['"]|['"]$/g, "");
  }
  return result;
}
