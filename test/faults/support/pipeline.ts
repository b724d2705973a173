import { type Child, spawnEntry } from "../../support/processes.ts";

type Role = "broker" | "worker";

const ENTRY: Record<Role, string> = { broker: "broker/main.ts", worker: "worker/main.ts" };
const READY: Record<Role, string> = { broker: "broker listening", worker: "worker started" };

/**
 * The broker (+bridge) and the worker as processes of their own, as production runs them, so a
 * fault can SIGKILL one. Any exit the test did not ask for is recorded: a process that crashes
 * under a fault is a finding, not noise.
 */
export class Pipeline {
  private readonly procs = new Map<Role, Child>();
  private readonly expected = new Set<Child>();
  private readonly history: { role: Role; proc: Child }[] = [];
  readonly unexpectedExits: string[] = [];

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  async start(role: Role, timeoutMs = 60_000): Promise<void> {
    // stderr kept, not printed, so a fault's expected noise does not flood the CI log
    const proc = spawnEntry(ENTRY[role], { ...this.env, LOG_LEVEL: "info" }, { stderr: "keep" });
    this.procs.set(role, proc);
    this.history.push({ role, proc });
    void proc.exited.then((code) => {
      if (!this.expected.has(proc))
        this.unexpectedExits.push(
          `${role} exited (${code}): ${[...proc.lines.filter((l) => /"level":(50|60)/.test(l)).slice(-3), ...proc.errors.slice(-5)].join(" | ")}`,
        );
    });
    await proc
      .waitForLine((l) => l.msg === READY[role], `${role} started`, timeoutMs)
      .catch((err: Error) => {
        throw new Error(`${role} did not start (${err.message}): ${proc.lines.slice(-5).join("\n")}`);
      });
  }

  /** Kills (SIGKILL by default: no shutdown code runs) and waits for the exit. */
  async kill(role: Role, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const proc = this.procs.get(role);
    if (!proc) return;
    this.expected.add(proc);
    proc.kill(signal);
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
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      await proc.exited;
      clearTimeout(t);
    }
  }
}
