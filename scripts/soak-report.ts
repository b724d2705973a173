import { cpus, totalmem } from "node:os";

/** One minute of the soak, as scripts/soak.ts measured it. */
export interface Minute {
  minute: number;
  offered: number;
  acked: number;
  errors: number;
  committedPerS: number;
  ackP50: number;
  ackP99: number;
  commitP99?: number | undefined;
  loopP99: number;
  loopMax: number;
  maxWaiting: number;
  rss: Record<string, number>;
}

export interface SoakRun {
  minutes: number;
  rate: number;
  write: boolean;
  withApi: boolean;
  devices: number;
  publishers: number;
  /** process names, in the order of the RSS columns */
  processes: string[];
  ackedTotal: number;
  stored: number;
}

/** RSS growth of one process in MB per minute: least squares over minutes 2..N (1 is warm-up). */
export function rssSlope(table: readonly Minute[], name: string): number {
  const pts = table.slice(1).map((r) => [r.minute, r.rss[name] ?? 0] as const);
  const n = pts.length;
  if (n < 2) return 0;
  const mx = pts.reduce((a, [x]) => a + x, 0) / n;
  const my = pts.reduce((a, [, y]) => a + y, 0) / n;
  const num = pts.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const den = pts.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return num / den;
}

/** The soak section of docs/reliability.md, markers included. */
export function soakSection(table: readonly Minute[], run: SoakRun): string {
  const names = run.processes;
  const slope = (name: string) => rssSlope(table, name);
  return [
    "<!-- soak:begin -->",
    `Command: \`npm run soak -- --minutes ${run.minutes} --rate ${run.rate}${run.write ? " --write" : ""}\` (scripts/soak.ts; broker, worker${run.withApi ? " and API" : ""} as`,
    `processes of their own on a PostgreSQL and Redis of the soak's own). Run ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores,`,
    `${Math.round(totalmem() / 2 ** 30)} GiB, shared with other work; ${run.devices} devices, QoS 1 single-fix messages from ${run.publishers} publisher processes.`,
    "",
    `| minute | fixes/s offered | acked | committed/s | PUBACK p50 / p99 | receipt→commit p99 | broker loop delay p99 / max | max queue (jobs) | RSS MB ${names.join(" / ")} |`,
    "|---|---|---|---|---|---|---|---|---|",
    ...table.map(
      (r) =>
        `| ${r.minute} | ${Math.round(r.offered / 60)} | ${r.acked} | ${Math.round(r.committedPerS)} | ${r.ackP50.toFixed(1)} / ${r.ackP99.toFixed(0)} ms | ${r.commitP99 ?? "n/a"} ms | ${r.loopP99.toFixed(1)} / ${r.loopMax.toFixed(0)} ms | ${r.maxWaiting} | ${names.map((n) => r.rss[n]).join(" / ")} |`,
    ),
    "",
    `${run.ackedTotal} PUBACKs in these minutes, ${table.reduce((a, r) => a + r.errors, 0)} publish errors; the worker committed ${run.stored} fixes in all (more: the warm-up and the publishers' last partial reports are outside the minute rows).`,
    `RSS trend over minutes 2–${run.minutes} (least squares): ${names.map((n) => `${n} ${slope(n) >= 0 ? "+" : ""}${slope(n).toFixed(1)} MB/min`).join(", ")}.`,
    "PUBACK p99 is the largest of the publishers' 10-second p99s in that minute; the event-loop delay is the",
    "broker's own (monitorEventLoopDelay, reported with its heartbeat every 5 s), the largest in the minute.",
    "<!-- soak:end -->",
  ].join("\n");
}
