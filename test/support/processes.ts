import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "./wait.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** A free TCP port on 127.0.0.1 (bound and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

export interface NodeProcess {
  child: ChildProcess;
  /** every line it printed on stdout so far */
  lines: string[];
  /** resolves with the exit code (or signal) */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/** Runs one of the platform's entry points (e.g. "worker/main.ts") as a process of its own. */
export function spawnEntry(entry: string, env: NodeJS.ProcessEnv): NodeProcess {
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let buf = "";
  child.stdout?.on("data", (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split("\n");
    buf = parts.pop() ?? "";
    lines.push(...parts);
  });
  child.stderr?.on("data", (d: Buffer) => process.stderr.write(d));
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, sig) => resolve(code ?? sig ?? -1)),
  );
  return {
    child,
    lines,
    exited,
    kill(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

export interface RedisInstance {
  url: string;
  pid: number;
  /** SIGSTOP: the server stops answering, connections stay open */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/**
 * A Redis server of the test's own (AOF on, as in production), for tests that pause or stop
 * it; controlled only through the PID started here.
 */
export async function startRedis(): Promise<RedisInstance> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "lt-redis-"));
  const child = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "yes",
      "--maxmemory-policy",
      "noeviction",
    ],
    { stdio: "ignore" },
  );
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  const { createRedis } = await import("../../core/redis.ts");
  const probe = createRedis(`redis://127.0.0.1:${port}`, { lazyConnect: true, retryStrategy: () => 100 });
  await waitFor(
    () => probe.ping().catch(() => "down"),
    (v) => v === "PONG",
    { timeoutMs: 20_000, what: "redis-server to answer" },
  );
  probe.disconnect();
  const pid = child.pid as number;
  return {
    url: `redis://127.0.0.1:${port}`,
    pid,
    pause: () => process.kill(pid, "SIGSTOP"),
    resume: () => process.kill(pid, "SIGCONT"),
    async stop() {
      if (child.exitCode === null) {
        process.kill(pid, "SIGCONT");
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
