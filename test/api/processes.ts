import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "../support/wait.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A child process this test started; stopped by its own PID, never by name. */
export interface Child {
  process: ChildProcess;
  /** stdout lines parsed as JSON where they are (pino), else as { msg: line } */
  lines: Record<string, unknown>[];
  waitForLine(match: (l: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

function track(child: ChildProcess): Child {
  const lines: Record<string, unknown>[] = [];
  let rest = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split("\n");
    rest = parts.pop() ?? "";
    for (const line of parts) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: line });
      }
    }
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    process: child,
    lines,
    async waitForLine(match, what) {
      const found = await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`${what}: the process exited (${child.exitCode})`);
          return lines.find(match);
        },
        (l) => l !== undefined,
        { what, timeoutMs: 60_000, intervalMs: 50 },
      );
      return found as Record<string, unknown>;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** `node --import tsx <entry>` (broker/main.ts, worker/main.ts …) with this environment. */
export function spawnEntry(entry: string, env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return track(child);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A Redis server of this test's own (no persistence), to stop and start at will. */
export interface OwnRedis {
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function ownRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "lt-redis-"));
  let current: Child | undefined;
  const self: OwnRedis = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (current) return;
      const child = spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      current = track(child);
      await current.waitForLine((l) => String(l.msg).includes("Ready to accept connections"), "redis ready");
    },
    async stop() {
      await current?.stop();
      current = undefined;
    },
    async cleanup() {
      await self.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await self.start();
  return self;
}
