import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { loadConfigOrExit, startConfigSchema } from "../core/config.ts";
import { withLocalServices } from "../core/local-services.ts";
import { createLogger } from "../core/logger.ts";
import { migrate } from "../core/migrate.ts";
import { nodeFlagsOf } from "../core/node-flags.ts";
import { buildUiIfStale } from "../ui/build-if-stale.ts";

/**
 * `npm start`: the whole platform on one machine. Provisions the local services (unless
 * DATABASE_URL/REDIS_URL point elsewhere), applies migrations, then runs broker, worker and
 * API as separate processes, as in production, and stops them together.
 */
const env = withLocalServices();
const config = loadConfigOrExit(startConfigSchema, env);
const log = createLogger("start", config.LOG_LEVEL);

const applied = await migrate(config.DATABASE_URL, log);
if (applied.length) log.info({ applied }, "migrations applied");

// the API serves ui/dist at /: build it on a fresh clone or after a UI source change
buildUiIfStale((msg) => log.info(msg));

const root = fileURLToPath(new URL("..", import.meta.url));
const processes = ["broker/main.ts", "worker/main.ts", "api/main.ts"];
const children = new Map<string, ChildProcess>();
let stopping = false;

for (const entry of processes) {
  // a process group of its own: a Ctrl-C (or a signal to our group) reaches only this process,
  // which stops the children once each, in order, instead of every process getting it twice
  const child = spawn(process.execPath, [...nodeFlagsOf(entry), "--import", "tsx", entry], {
    cwd: root,
    env,
    stdio: "inherit",
    detached: true,
  });
  children.set(entry, child);
  child.on("exit", (code, signal) => {
    children.delete(entry);
    if (!stopping) {
      log.error({ entry, code, signal }, "process exited; stopping the platform");
      void stop(1);
    } else if (children.size === 0) process.exit(exitCode);
  });
}
log.info(
  { mqtt: config.MQTT_PORT, mqttWs: config.MQTT_WS_PORT, http: config.HTTP_PORT },
  "logitrack running: register a vehicle with `npm run -s logitrack -- vehicle add <id>`",
);

let exitCode = 0;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  exitCode = code;
  if (children.size === 0) process.exit(code);
  for (const child of children.values()) child.kill("SIGTERM");
  setTimeout(() => {
    for (const child of children.values()) child.kill("SIGKILL");
    process.exit(code || 1);
  }, 15_000).unref();
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
// if this process dies without stopping them, the detached children must not outlive it
process.on("exit", () => {
  for (const child of children.values()) child.kill("SIGKILL");
});
