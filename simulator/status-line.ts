import type { FleetStats } from "./fleet.ts";

/** How far a fixed-length run has come. */
export interface Progress {
  done: number;
  total: number;
  unit: "s" | "fixes";
}

export interface Sample {
  at: number;
  stats: FleetStats;
}

const BAR = 12;

/**
 * One status line: connected trucks, fixes/s and acks/s over the last interval, totals, errors,
 * and a progress bar for runs with --duration or --fixes. Pure: main.ts decides when to print.
 */
export function formatStatus(curr: Sample, prev: Sample | undefined, progress?: Progress): string {
  const s = curr.stats;
  const dt = prev ? (curr.at - prev.at) / 1000 : 0;
  const perS = (now: number, before: number | undefined) =>
    dt > 0 && before !== undefined ? ((now - before) / dt).toFixed(1) : "-";
  // most important first: a narrow terminal cuts the end of the line
  const parts = [
    `trucks ${s.connectedTrucks}/${s.trucks}`,
    `fixes/s ${perS(s.sent, prev?.stats.sent)}`,
    `acks/s ${perS(s.acked, prev?.stats.acked)}`,
    `errors ${s.errors}`,
    `sent ${s.sent.toLocaleString("en-US")}`,
    `acked ${s.acked.toLocaleString("en-US")}`,
  ];
  if (s.rejected > 0) parts.push(`rejected ${s.rejected}`);
  if (s.buffered > 0 || s.batches > 0) parts.push(`gap-buffered ${s.buffered}`, `batches ${s.batches}`);
  if (s.duplicates > 0) parts.push(`dups ${s.duplicates}`);
  if (s.reconnects > 0) parts.push(`reconnects ${s.reconnects}`);
  if (s.resent > 0) parts.push(`resent ${s.resent}`);
  let line = parts.join(" · ");
  if (progress) line = `${progressBar(progress)} ${line}`;
  return line;
}

export function progressBar(p: Progress): string {
  const ratio = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const filled = Math.round(ratio * BAR);
  const done = p.unit === "s" ? Math.floor(p.done) : p.done;
  return `[${"#".repeat(filled)}${"-".repeat(BAR - filled)}] ${Math.floor(ratio * 100)}% ${done}/${p.total}${p.unit === "s" ? "s" : ""}`;
}

export interface StatusLine {
  /** prints a line above the status line */
  log(line: string): void;
  /** final redraw, then a newline */
  stop(): void;
}

/**
 * Redraws the status every second. On a terminal it rewrites one line in place; otherwise
 * (a log file, CI) it prints a plain line every `plainEveryMs`.
 */
export function startStatusLine(opts: {
  read: () => FleetStats;
  progress?: () => Progress | undefined;
  stream?: NodeJS.WriteStream;
  intervalMs?: number;
  plainEveryMs?: number;
}): StatusLine {
  const stream = opts.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const interval = opts.intervalMs ?? 1000;
  const plainEvery = opts.plainEveryMs ?? 5000;
  let prev: Sample | undefined;
  let lastPlain = 0;
  let current = "";
  const draw = (force = false) => {
    const curr: Sample = { at: Date.now(), stats: opts.read() };
    current = formatStatus(curr, prev, opts.progress?.());
    prev = curr;
    if (tty) {
      const width = stream.columns ?? 160;
      stream.write(`\r\x1b[2K${current.slice(0, width - 1)}`);
    } else if (force || curr.at - lastPlain >= plainEvery) {
      lastPlain = curr.at;
      stream.write(`${current}\n`);
    }
  };
  const timer = setInterval(draw, interval);
  return {
    log(line) {
      stream.write(tty ? `\r\x1b[2K${line}\n${current}` : `${line}\n`);
    },
    stop() {
      clearInterval(timer);
      draw(true);
      if (tty) stream.write("\n");
    },
  };
}
