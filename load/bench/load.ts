import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Samples } from "./histogram.ts";
import type { PublisherJob, PublisherResult } from "./publisher.ts";

const PUBLISHER = fileURLToPath(new URL("./publisher.ts", import.meta.url));

export interface LoadSpec extends Omit<PublisherJob, "devices" | "rate" | "url" | "ledger"> {
  /** keep every message's identity and whether it was acknowledged (LoadResult.ledger) */
  ledger?: boolean;
  urls: string[];
  devices: PublisherJob["devices"];
  /** messages per second in total */
  rate: number;
  /** publisher processes (each gets an equal share of devices and rate) */
  processes: number;
}

export interface LoadResult {
  offered: number;
  sent: number;
  acked: number;
  errors: number;
  /** sent, still waiting for their answer when the generators stopped */
  unanswered: number;
  fixesAcked: number;
  /** MQTT devices: PUBLISH packets written, those closed before their PUBACK, reconnects */
  transmissions: number;
  refused: number;
  reconnects: number;
  ackP50: number;
  ackP99: number;
  /** CPU the load generators used, as a share of the machine's cores over the run */
  loadCpuShare: number;
  wallMs: number;
  /** with `park`: the parking fixes acknowledged (PublisherJob.park) */
  parked?: number;
  /** every message sent: vehicle id, its last fix's recordedAt (ms), acknowledged */
  ledger?: Ledger;
}

export interface Ledger {
  vehicleIds: string[];
  recordedAt: number[];
  acked: boolean[];
}

/**
 * Runs publisher processes side by side; `during` is called once all are connected and
 * released, and runs while they publish (the caller samples the system under test).
 */
export async function runLoad<T>(
  spec: LoadSpec,
  during: () => Promise<T>,
  cores: number,
): Promise<LoadResult & { during: T }> {
  const dir = mkdtempSync(join(tmpdir(), "lt-bench-"));
  const procs = Array.from({ length: spec.processes }, (_, p) => {
    const devices = spec.devices.filter((_, i) => i % spec.processes === p);
    const job: PublisherJob = {
      url: spec.urls[p % spec.urls.length] as string,
      devices,
      rate: spec.rate / spec.processes,
      seconds: spec.seconds,
      fixesPerMessage: spec.fixesPerMessage,
      qos: spec.qos,
      ...(spec.topic ? { topic: spec.topic } : {}),
      ...(spec.protocol ? { protocol: spec.protocol } : {}),
      ...(spec.ledger ? { ledger: join(dir, `ledger-${p}.csv`) } : {}),
      ...(spec.sampleAfterMs ? { sampleAfterMs: spec.sampleAfterMs } : {}),
      ...(spec.park ? { park: true } : {}),
    };
    const file = join(dir, `job-${p}.json`);
    writeFileSync(file, JSON.stringify(job));
    const child = spawn(process.execPath, ["--import", "tsx", PUBLISHER, file], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const lines: string[] = [];
    let buf = "";
    const lineWaiters: (() => void)[] = [];
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      lines.push(...parts.filter(Boolean));
      for (const w of lineWaiters.splice(0)) w();
    });
    let exitCode: number | null | undefined;
    const exited = new Promise<void>((r) =>
      // "close", not "exit": stdout may still hold the result line when the process has exited
      child.on("close", (code) => {
        exitCode = code;
        for (const w of lineWaiters.splice(0)) w();
        r();
      }),
    );
    const nextLine = async (n: number) => {
      while (lines.length < n) {
        if (exitCode !== undefined) throw new Error(`publisher ${p} exited (${exitCode}) before line ${n}`);
        await new Promise<void>((r) => lineWaiters.push(r));
      }
      return JSON.parse(lines[n - 1] as string);
    };
    return { child, nextLine, exited };
  });
  try {
    await Promise.all(procs.map((p) => p.nextLine(1)));
    for (const p of procs) p.child.stdin.write("go\n");
    const during = await runDuring();
    const results = (await Promise.all(procs.map((p) => p.nextLine(2)))) as PublisherResult[];
    await Promise.all(procs.map((p) => p.exited));
    const samples = new Samples();
    for (const r of results) samples.merge(r.ackMs);
    const wallMs = Math.max(...results.map((r) => r.wallMs));
    const cpuMs = results.reduce((a, r) => a + r.cpuMs, 0);
    return {
      offered: sum(results, "offered"),
      sent: sum(results, "sent"),
      acked: sum(results, "acked"),
      errors: sum(results, "errors"),
      unanswered: sum(results, "unanswered"),
      fixesAcked: sum(results, "fixesAcked"),
      transmissions: sum(results, "transmissions"),
      refused: sum(results, "refused"),
      reconnects: sum(results, "reconnects"),
      ackP50: samples.percentile(50),
      ackP99: samples.percentile(99),
      loadCpuShare: cpuMs / (wallMs * cores),
      wallMs,
      during,
      ...(spec.park ? { parked: results.reduce((a, r) => a + (r.parked ?? 0), 0) } : {}),
      ...(spec.ledger ? { ledger: readLedgers(dir, spec.processes) } : {}),
    };
  } finally {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }

  async function runDuring(): Promise<T> {
    return during();
  }
}

type Count =
  | "offered"
  | "sent"
  | "acked"
  | "errors"
  | "unanswered"
  | "fixesAcked"
  | "transmissions"
  | "refused"
  | "reconnects";
function sum(rs: PublisherResult[], k: Count): number {
  return rs.reduce((a, r) => a + r[k], 0);
}

function readLedgers(dir: string, processes: number): Ledger {
  const out: Ledger = { vehicleIds: [], recordedAt: [], acked: [] };
  for (let p = 0; p < processes; p++) {
    for (const line of readFileSync(join(dir, `ledger-${p}.csv`), "utf8").split("\n")) {
      if (!line) continue;
      const [id, t, a] = line.split(",");
      out.vehicleIds.push(id as string);
      out.recordedAt.push(Number(t));
      out.acked.push(a === "1");
    }
  }
  return out;
}
