import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { sleep } from "../../support/wait.ts";

const root = fileURLToPath(new URL("../../..", import.meta.url));

interface Proc {
  child: ChildProcess;
  /** stdout lines (pino JSON) */
  lines: string[];
  /** stderr lines: kept, not printed, so a fault's expected noise does not flood the CI log */
  errors: string[];
  exited: Promise<number | string>;
}

function spawnEntry(entry: string, env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc: Proc = {
    child,
    lines: [],
    errors: [],
    exited: new Promise((resolve) => child.on("exit", (code, sig) => resolve(code ?? sig ?? -1))),
  };
  const collect = (into: string[]) => {
    let buf = "";
    return (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      into.push(...parts);
    };
  };
  child.stdout?.on("data", collect(proc.lines));
  child.stderr?.on("data", collect(proc.errors));
  return proc;
}

type Role = "broker" | "worker";

const ENTRY: Record<Role, string> = { broker: "broker/main.ts", worker: "worker/main.ts" };
const READY: Record<Role, RegExp> = { broker: /"msg":"broker listening"/, worker: /"msg":"worker started"/ };

/**
 * The broker (+bridge) and the worker as processes of their own, as production runs them, so a
 * fault can SIGKILL one. Any exit the test did not ask for is recorded: a process that crashes
 * under a fault is a finding, not noise.
 */
export class Pipeline {
  private readonly procs = new Map<Role, Proc>();
  private readonly expected = new Set<Proc>();
  private readonly history: { role: Role; proc: Proc }[] = [];
  readonly unexpectedExits: string[] = [];

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  async start(role: Role, timeoutMs = 60_000): Promise<void> {
    const proc = spawnEntry(ENTRY[role], { ...this.env, LOG_LEVEL: "info" });
    this.procs.set(role, proc);
    this.history.push({ role, proc });
    void proc.exited.then((code) => {
      if (!this.expected.has(proc))
        this.unexpectedExits.push(
          `${role} exited (${code}): ${[...proc.lines.filter((l) => /"level":(50|60)/.test(l)).slice(-3), ...proc.errors.slice(-5)].join(" | ")}`,
        );
    });
    const deadline = Date.now() + timeoutMs;
    while (!proc.lines.some((l) => READY[role].test(l))) {
      if (proc.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`${role} did not start: ${proc.lines.slice(-5).join("\n")}`);
      await sleep(50);
    }
  }

  /** Kills (SIGKILL by default: no shutdown code runs) and waits for the exit. */
  async kill(role: Role, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const proc = this.procs.get(role);
    if (!proc) return;
    this.expected.add(proc);
    if (proc.child.exitCode === null) proc.child.kill(signal);
    await proc.exited;
  }

  pid(role: Role): number | undefined {
    return this.procs.get(role)?.child.pid;
  }

  signal(role: Role, signal: NodeJS.Signals): void {
    const pid = this.pid(role);
    if (pid) process.kill(pid, signal);
  }

  /** lines the process printed (pino JSON) */
  lines(role: Role): string[] {
    return this.procs.get(role)?.lines ?? [];
  }

  /** what every process of `role` so far wrote on stderr */
  stderr(role: Role): string[] {
    return this.history.filter((h) => h.role === role).flatMap((h) => h.proc.errors);
  }

  async stop(): Promise<void> {
    for (const role of ["broker", "worker"] as const) {
      const proc = this.procs.get(role);
      if (!proc) continue;
      this.expected.add(proc);
      if (proc.child.exitCode === null) proc.child.kill("SIGTERM");
      const t = setTimeout(() => proc.child.kill("SIGKILL"), 15_000);
      await proc.exited;
      clearTimeout(t);
    }
  }
}
