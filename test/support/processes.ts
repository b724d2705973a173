import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { waitFor } from "./wait.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** A process this test started; stopped through its own PID, never by name. */
export interface Child {
  child: ChildProcess;
  /** every line it printed on stdout so far (pino JSON for the platform's entry points) */
  lines: string[];
  /** every line it printed on stderr so far */
  errors: string[];
  /** resolves with the exit code (or the signal) */
  exited: Promise<number | string>;
  /**
   * The first stdout line that `match` accepts, each parsed as JSON where it is (pino), else as
   * `{ msg: line }`; fails if the process exits first.
   */
  waitForLine(
    match: (line: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then waits for the exit */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** stderr printed as it comes (default), or only kept in `errors` (a fault's expected noise) */
  stderr?: "print" | "keep";
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

function collectLines(into: string[], also?: (chunk: Buffer) => void): (chunk: Buffer) => void {
  let rest = "";
  return (chunk) => {
    also?.(chunk);
    const parts = (rest + chunk.toString()).split("\n");
    rest = parts.pop() ?? "";
    into.push(...parts);
  };
}

function parseLine(line: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(line);
    if (value && typeof value === "object") return value as Record<string, unknown>;
  } catch {}
  return { msg: line };
}

/** Runs `command` with its stdout and stderr collected line by line. */
export function spawnTracked(command: string, args: string[], opts: SpawnOptions = {}): Child {
  const child = spawn(command, args, {
    cwd: opts.cwd ?? root,
    env: opts.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const errors: string[] = [];
  child.stdout?.on("data", collectLines(lines));
  child.stderr?.on(
    "data",
    collectLines(errors, opts.stderr === "keep" ? undefined : (d) => process.stderr.write(d)),
  );
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? -1));
    // a command that cannot start (ENOENT) never exits: it counts as exited with the error
    child.once("error", (err) => {
      errors.push(err.message);
      resolve(err.message);
    });
  });
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  const parsed: Record<string, unknown>[] = [];
  const running = () => !ended && child.exitCode === null && child.signalCode === null;
  return {
    child,
    lines,
    errors,
    exited,
    async waitForLine(match, what, timeoutMs = 60_000) {
      const found = await waitFor(
        async () => {
          while (parsed.length < lines.length) parsed.push(parseLine(lines[parsed.length] as string));
          const hit = parsed.find(match);
          if (!hit && !running()) throw new Error(`${what}: the process exited (${await exited})`);
          return hit;
        },
        (l) => l !== undefined,
        { what, timeoutMs, intervalMs: 50 },
      );
      return found as Record<string, unknown>;
    },
    kill(signal = "SIGTERM") {
      if (running()) child.kill(signal);
    },
    async stop() {
      if (running()) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** `node --import tsx <entry>` (broker/main.ts, worker/main.ts …) with this environment. */
export function spawnEntry(
  entry: string,
  env: NodeJS.ProcessEnv,
  opts: Omit<SpawnOptions, "env"> = {},
): Child {
  return spawnTracked(process.execPath, ["--import", "tsx", entry], { ...opts, env });
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to its end (stdin closed), with what it printed; one that outlasts `timeoutMs` is
 * killed through its own PID and the promise rejects.
 */
export function runToEnd(
  command: string,
  args: string[],
  opts: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      ...(opts.env ? { env: opts.env } : {}),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not finish in ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    // "close", not "exit": stdout and stderr are read to their end
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
