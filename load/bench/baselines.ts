import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exactCommitLatency } from "./commit-latency.ts";
import {
  type BenchServices,
  benchDbUrl,
  freshStorage,
  type Proc,
  registerDevices,
  rssOf,
  type Sut,
  serviceGroups,
  spawned,
  spawnReady,
  tsx,
} from "./suts.ts";

// The baselines the pipeline is measured against, side by side in one run (BENCHMARKS.md).

/** BENCHMARK-ONLY: the naive "INSERT per fix before PUBACK" broker. */
export async function startNaive(svc: BenchServices, devices: number, port: number): Promise<Sut> {
  const { pool, redis } = await freshStorage(svc);
  redis.disconnect();
  const list = await registerDevices(pool, devices);
  await pool.query(
    "SELECT ensure_location_partition(now() - interval '1 hour', 'day'), ensure_location_partition(now(), 'day')",
  );
  const broker = await spawnReady(
    process.execPath,
    [...tsx("load/bench/naive-broker.ts"), String(port), benchDbUrl(svc)],
    process.env,
    /^ready$/,
  );
  return {
    name: "naive",
    urls: [`mqtt://127.0.0.1:${port}`],
    devices: list,
    async delivered() {
      return (
        (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM vehicle_locations")).rows[0]?.n ?? 0
      );
    },
    commitLatency: (fromMs, toMs) => exactCommitLatency(pool, fromMs, toMs),
    rss: () => rssOf(broker.child.pid),
    pids: () => [broker.child.pid as number],
    cpuGroups: () => ({
      broker: () => [broker.child.pid as number],
      postgres: serviceGroups(svc).postgres ?? (() => []),
    }),
    async stop() {
      await broker.stop();
      await pool.end();
    },
  };
}

/** A relay: bare Aedes or Mosquitto, with one QoS 1 subscriber process counting deliveries. */
export async function startRelay(
  kind: "aedes" | "mosquitto",
  devices: number,
  port: number,
  /** extra node flags for the bare Aedes relay, e.g. ["--cpu-prof"] (load/bench/profile.ts) */
  nodeArgs: string[] = [],
): Promise<Sut> {
  let server: Proc;
  let dir: string | undefined;
  if (kind === "aedes") {
    server = await spawnReady(
      process.execPath,
      [...nodeArgs, ...tsx("load/bench/aedes-relay.ts"), String(port)],
      process.env,
      /^ready$/,
    );
  } else {
    dir = mkdtempSync(join(tmpdir(), "lt-mosq-"));
    writeFileSync(
      join(dir, "m.conf"),
      `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n`,
    );
    const proc = spawn("mosquitto", ["-c", join(dir, "m.conf")], { stdio: "ignore" });
    spawned.add(proc);
    const exited = new Promise<void>((r) => proc.on("exit", () => r()));
    await new Promise((r) => setTimeout(r, 500));
    server = {
      child: proc,
      lines: [],
      async stop() {
        proc.kill("SIGTERM");
        await exited;
      },
    };
  }
  const sub = await spawnReady(
    process.execPath,
    [...tsx("load/bench/subscriber.ts"), `mqtt://127.0.0.1:${port}`],
    process.env,
    /^ready$/,
  );
  const list = Array.from({ length: devices }, (_, i) => ({
    id: `relay-${i + 1}`,
    username: "",
    password: "",
  }));
  return {
    name: kind === "aedes" ? "aedes-relay" : "mosquitto-relay",
    urls: [`mqtt://127.0.0.1:${port}`],
    devices: list,
    async delivered() {
      const n = sub.lines.length;
      sub.child.stdin?.write("?\n");
      while (sub.lines.length === n) await new Promise((r) => setTimeout(r, 2));
      return Number(sub.lines[sub.lines.length - 1]);
    },
    rss: () => rssOf(server.child.pid),
    pids: () => [server.child.pid as number],
    cpuGroups: () => ({
      broker: () => [server.child.pid as number],
      subscriber: () => [sub.child.pid as number],
    }),
    async stop() {
      await sub.stop();
      await server.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
