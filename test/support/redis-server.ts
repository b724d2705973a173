import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../core/free-port.ts";
import { createRedis } from "../../core/redis.ts";
import { type Child, spawnTracked } from "./processes.ts";
import { waitFor } from "./wait.ts";

/** A Redis server of the test's own, to pause, stop and start at will. */
export interface RedisServer {
  url: string;
  /** SIGSTOP: the server stops answering, connections stay open */
  pause(): void;
  resume(): void;
  /** stops the server; `start` brings it back on the same port and folder */
  stop(): Promise<void>;
  /** SIGKILL, as a crash: what it had not read from its sockets is never run */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** stops it for good and deletes its folder */
  cleanup(): Promise<void>;
}

export interface RedisServerOptions {
  /** AOF on, as in production (default); off for a test that only needs a Redis to stop */
  appendonly?: boolean;
}

/**
 * Starts a redis-server on a free loopback port with its data in a temporary folder; controlled
 * only through the PID started here, for tests that pause, stop or restart it.
 */
export async function startRedis({ appendonly = true }: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "lt-redis-"));
  const url = `redis://127.0.0.1:${port}`;
  // `--save ""`: no RDB snapshots; whatever survives a restart is in the AOF
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""];
  args.push("--appendonly", appendonly ? "yes" : "no", "--maxmemory-policy", "noeviction");
  let current: Child | undefined;
  const pid = () => {
    if (!current?.child.pid) throw new Error("redis-server is not running");
    return current.child.pid;
  };
  const self: RedisServer = {
    url,
    pause: () => process.kill(pid(), "SIGSTOP"),
    resume: () => process.kill(pid(), "SIGCONT"),
    async start() {
      if (current) return;
      current = spawnTracked("redis-server", args);
      const probe = createRedis(url, { lazyConnect: true, retryStrategy: () => 100 });
      try {
        await waitFor(
          () => probe.ping().catch(() => "down"),
          (v) => v === "PONG",
          { timeoutMs: 20_000, what: "redis-server to answer" },
        );
      } finally {
        probe.disconnect();
      }
    },
    async stop() {
      if (!current) return;
      const stopping = current;
      current = undefined;
      const { child } = stopping;
      // a paused server would not act on SIGTERM
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGCONT");
      await stopping.stop();
    },
    async kill() {
      if (!current) return;
      const killed = current;
      current = undefined;
      killed.child.kill("SIGKILL");
      await killed.exited;
    },
    async cleanup() {
      await self.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await self.start();
  return self;
}
