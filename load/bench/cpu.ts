import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time of the processes that make up a system under test, read from /proc (Linux): where a
 * step's two cores went (broker, worker, PostgreSQL, Redis, relay subscriber …). Used to say what
 * bounds the pipeline with figures, not guesses.
 */
const TICKS_PER_S = 100; // USER_HZ, 100 on every Linux this runs on

/** utime + stime of one process, in seconds; 0 when it is gone. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // fields after the parenthesised command name (which may contain spaces)
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** `root` and every live descendant (PostgreSQL's backends are children of the postmaster). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // exited while we looked
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/** A group's processes, found afresh at each reading (backends come and go). */
export type CpuGroups = Record<string, () => number[]>;

/**
 * Starts a measurement; the returned function gives each group's average CPU use since then,
 * in cores (1.0 = one core busy all the time). Processes that exited in between are missed.
 */
export function startCpuMeter(groups: CpuGroups): () => Record<string, number> {
  const t0 = performance.now();
  const before = new Map<number, number>();
  for (const pids of Object.values(groups)) for (const pid of pids()) before.set(pid, cpuSecondsOf(pid));
  return () => {
    const wall = (performance.now() - t0) / 1000;
    const out: Record<string, number> = {};
    for (const [name, pids] of Object.entries(groups)) {
      let s = 0;
      for (const pid of pids()) s += cpuSecondsOf(pid) - (before.get(pid) ?? 0);
      out[name] = s / wall;
    }
    return out;
  };
}

/** The PID in the first line of a pid file (postmaster.pid, redis.pid), if it is there. */
export function pidFromFile(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
