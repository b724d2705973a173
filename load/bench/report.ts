import { alertsRatios, renderAlerts } from "./report-alerts.ts";
import { cpuCell, fmt, type Spread, spread, spreadText } from "./report-format.ts";
import type { BenchResults, ThroughputRun } from "./results.ts";

export { type Spread, spread };

function best(r: BenchResults, sut: string, mode: ThroughputRun["mode"], repetition = 1): number {
  return (
    r.throughput.find((t) => t.sut === sut && t.mode === mode && (t.repetition ?? 1) === repetition)
      ?.maxSustained ?? 0
  );
}

/** The benchmark section of BENCHMARKS.md: tables, ratios and the goals, from one run's results. */
export function renderMarkdown(r: BenchResults): string {
  const out: string[] = [];
  out.push(
    `Measured ${r.machine.date} on ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memGiB} GiB, Node ${r.machine.node}.`,
  );
  out.push(
    `Command: \`${r.command}\`${r.quick ? " (quick mode: short steps, smaller data; ratios hold, absolute figures are rough)" : ""}.`,
  );
  out.push(
    "The machine may be shared and noisy: read the ratios, which come from loads run side by side in this one run.",
  );
  out.push("Load generators are mqtt.js processes on the same machine; their CPU share is in each row.\n");
  if (r.calibration) {
    const c = r.calibration;
    out.push("### Calibration (what this machine costs; compare runs on other machines by it)\n");
    out.push(
      "| Redis round trip µs | PostgreSQL round trip µs | 8 KiB write + fdatasync µs | one system call ns | kernel share of busy CPU during the run |",
    );
    out.push("|---|---|---|---|---|");
    out.push(
      `| ${fmt(c.redisRttUs)} | ${fmt(c.pgRttUs)} | ${fmt(c.fsyncUs)} | ${fmt(c.syscallNs)} | ${c.kernelShare === undefined ? "n/a" : `${fmt(c.kernelShare * 100)} %`} |\n`,
    );
  }

  out.push(
    "### Throughput (max sustained: delivered ≥ 95 % of offered, exact p99 publish→commit < 1 s, the generators sent ≥ 98 % of the offer)\n",
  );
  out.push(
    "Each system runs a warm-up step at its first rate before its ladder (not counted). Commit latency is exact: the publish time carried in each message against PostgreSQL's commit time of its row.\n",
  );
  out.push(
    "| system | mode | devices | offered fixes/s | sent msgs/s | delivered fixes/s | PUBACK p50 / p99 ms | commit p50 / p99 ms | load-gen CPU | CPU by process, cores | RSS MB | sustained |",
  );
  out.push("|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const t of r.throughput) {
    for (const s of t.steps) {
      out.push(
        `| ${t.sut}${(t.repetition ?? 1) > 1 ? ` (run ${t.repetition})` : ""} | ${t.mode} | ${t.devices} | ${fmt(s.offeredFixes)}${s.refined ? " (refined)" : ""} | ${fmt(s.sentMsgs)} | ${fmt(s.deliveredFixes)} | ${fmt(s.ackP50, 1)} / ${fmt(s.ackP99, 1)} | ${fmt(s.commitP50, 0)} / ${fmt(s.commitP99, 0)} | ${fmt(s.loadCpuShare * 100)} % | ${cpuCell(s.cpu)} | ${fmt(s.rssMB)} | ${s.sustained ? "yes" : `no${s.failed ? `: ${s.failed}` : ""}`} |`,
      );
    }
  }
  out.push(
    "\n| system | mode | max sustained fixes/s | peak delivered fixes/s (any step) |\n|---|---|---|---|",
  );
  for (const t of r.throughput)
    out.push(
      `| ${t.sut}${(t.repetition ?? 1) > 1 ? ` (run ${t.repetition})` : ""} | ${t.mode} | ${fmt(t.maxSustained)} | ${fmt(t.peakDelivered)} |`,
    );

  if (r.raw.length) {
    out.push("\n### Raw storage (same table, no MQTT, no queue)\n");
    out.push("| method | rows per statement | connections | rows/s |\n|---|---|---|---|");
    for (const x of r.raw) out.push(`| ${x.method} | ${x.batch} | ${x.parallel} | ${fmt(x.rowsPerSec)} |`);
  }
  if (r.overload) {
    const o = r.overload;
    out.push("\n### Overload (2 × max sustained single-fix rate)\n");
    out.push(
      "| offered fixes/s | delivered fixes/s | PUBACK p99 ms | commit p99 ms | RSS before / peak / after / a minute after MB | recovered in s | load-gen CPU | CPU by process, cores |",
    );
    out.push("|---|---|---|---|---|---|---|---|");
    out.push(
      `| ${fmt(o.offeredFixes)} | ${fmt(o.deliveredFixes)} | ${fmt(o.ackP99, 1)} | ${fmt(o.commitP99)} | ${fmt(o.rssBeforeMB)} / ${fmt(o.peakRssMB)} / ${fmt(o.rssAfterMB)} / ${fmt(o.rssMinuteAfterMB)} | ${fmt(o.recoveredInS, 1)} | ${o.loadCpuShare === undefined ? "n/a" : `${fmt(o.loadCpuShare * 100)} %`} | ${cpuCell(o.cpu)} |`,
    );
    const rc = o.reconciled;
    if (rc) {
      out.push(
        "\nEvery message of the overload, checked against the database after it drained (lost = acknowledged, never stored):\n",
      );
      out.push(
        "| sent | acknowledged | stored | lost | stored, not acknowledged | neither (refused or unanswered: the device resends) |\n|---|---|---|---|---|---|",
      );
      out.push(
        `| ${fmt(rc.sent)} | ${fmt(rc.acked)} | ${fmt(rc.stored)} | ${fmt(rc.ackedNotStored)} | ${fmt(rc.storedNotAcked)} | ${fmt(rc.sent - rc.acked - rc.storedNotAcked)} |`,
      );
    }
    if (o.reconnects) {
      out.push(
        `\nThe broker closed ${fmt(o.reconnects)} device connections (shedding, the hold cap or a rate limit); the devices reconnected and sent ${fmt(o.refusedTransmissions ?? 0)} unanswered publishes again (PUBACK p99 is per transmission; commit p99 counts from the fix's own time, resends included).`,
      );
    }
  }
  if (r.connections) {
    const c = r.connections;
    const codes = Object.entries(c.codes ?? {})
      .map(
        ([k, v]) =>
          `${k === "0" ? "accepted" : k === "reset" || k === "timeout" ? k : `CONNACK ${k}`} ${fmt(v)}`,
      )
      .join(" · ");
    const refusals = Object.entries(c.brokerRefusals ?? {})
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(" · ");
    out.push(`\n### Idle connections (keepalive ${c.keepaliveS ?? 60} s, held across it with PINGREQs)\n`);
    out.push(
      "| target | connect pace /s | outcomes | broker refusal counters | held | held after keepalive | broker RSS before / after MB | bytes per connection | ulimit -n |",
    );
    out.push("|---|---|---|---|---|---|---|---|---|");
    out.push(
      `| ${fmt(c.target)} | ${fmt(c.perSecond)} | ${codes || "n/a"} | ${refusals || "none"} | ${fmt(c.held)} | ${fmt(c.heldAfterKeepalive)} | ${fmt(c.rssBeforeMB)} / ${fmt(c.rssAfterMB)} | ${fmt(c.bytesPerConnection)} | ${fmt(c.fdLimit)} |`,
    );
  }
  if (r.queries.length) {
    out.push("\n### Query latency (data written time-major, as ingest writes it)\n");
    out.push(
      "| query | rows in table | runs | while ingesting fixes/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|",
    );
    for (const q of r.queries)
      out.push(
        `| ${q.name} | ${fmt(q.rows)} | ${fmt(q.runs)} | ${fmt(q.ingestFixesPerS)} | ${fmt(q.p50, 2)} | ${fmt(q.p99, 2)} |`,
      );
  }

  if (r.alerts) out.push(`\n${renderAlerts(r.alerts)}`);

  const reps = Math.max(1, ...r.throughput.map((t) => t.repetition ?? 1));
  const series = (sut: string, mode: ThroughputRun["mode"]) =>
    Array.from({ length: reps }, (_, i) => best(r, sut, mode, i + 1));
  const pipeSingle = series("pipeline", "single");
  const pipeBatch = series("pipeline", "batch50");
  const aedes = series("aedes-relay", "single");
  const mosq = series("mosquitto-relay", "single");
  const naiveBatch = series("naive", "batch50");
  const naiveSingle = series("naive", "single");
  const fastestRaw = Math.max(
    0,
    ...r.raw.filter((x) => x.method.startsWith("COPY")).map((x) => x.rowsPerSec),
  );
  const workerRaw = Math.max(
    0,
    ...r.raw.filter((x) => !x.method.startsWith("COPY")).map((x) => x.rowsPerSec),
  );
  out.push("\n### Ratios and goals\n");
  if (reps > 1)
    out.push(
      `Each throughput ratio is computed within each of the ${reps} repetitions, then shown as the median with its range (min–max); the goal is judged on the median. The alerts ratio is computed within each of its own repetitions (pairs of ladders on fresh pipelines) the same way. The overload (in the first repetition), idle connections and queries run once: their rows have no range.\n`,
    );
  out.push("| ratio | value | goal | met |\n|---|---|---|---|");
  const row = (name: string, s: Spread | undefined, digits: number, g: string, ok: boolean | undefined) =>
    out.push(
      `| ${name} | ${spreadText(s, digits)} | ${g} | ${ok === undefined ? "n/a" : ok ? "yes" : "**no**"} |`,
    );
  const ratios = (a: number[], b: number[] | number) =>
    spread(
      a.map((x, i) =>
        ((Array.isArray(b) ? b[i] : b) ?? 0) > 0 ? x / ((Array.isArray(b) ? b[i] : b) as number) : undefined,
      ),
    );
  const atLeast = (s: Spread | undefined, g: number) => (s === undefined ? undefined : s.median >= g);
  const atMost = (v: number | undefined, g: number) =>
    v === undefined || Number.isNaN(v) ? undefined : v <= g;
  const vsAedes = ratios(pipeSingle, aedes);
  row("pipeline single / bare Aedes relay", vsAedes, 2, "≥ 1.0", atLeast(vsAedes, 1));
  row("pipeline single / Mosquitto relay", ratios(pipeSingle, mosq), 2, "—", undefined);
  row("pipeline single / naive single", ratios(pipeSingle, naiveSingle), 2, "—", undefined);
  const vsCopy = ratios(pipeBatch, fastestRaw);
  row("pipeline batch50 / fastest raw COPY", vsCopy, 2, "≥ 0.5", atLeast(vsCopy, 0.5));
  row("pipeline batch50 / worker statement raw", ratios(pipeBatch, workerRaw), 2, "—", undefined);
  const vsNaive = ratios(pipeBatch, naiveBatch);
  row("pipeline batch50 / naive batch50", vsNaive, 2, "≥ 10", atLeast(vsNaive, 10));
  // in each repetition, PUBACK p99 of the first pipeline step offered at least half that
  // repetition's relay maximum (Infinity when the pipeline's ladder never reached it)
  const halves = aedes.map((a) => a / 2);
  const atHalf = halves.map((half, i) => {
    if (!(half > 0)) return undefined;
    const step = r.throughput
      .find((t) => t.sut === "pipeline" && t.mode === "single" && (t.repetition ?? 1) === i + 1)
      ?.steps.find((st) => !st.refined && st.offeredFixes >= half);
    return step ? step.ackP99 : Number.POSITIVE_INFINITY;
  });
  const halfSpread = spread(atHalf);
  row(
    `PUBACK p99 ms at half the relay's maximum (${halves.map((h) => fmt(h)).join(" / ")} fixes/s)`,
    halfSpread,
    1,
    "≤ 50",
    halfSpread ? halfSpread.median <= 50 : undefined,
  );
  if (r.overload) {
    const o = r.overload;
    const vsMax = ratios([o.deliveredFixes], pipeSingle[0] ?? 0);
    row("overload delivered / max sustained", vsMax, 2, "≥ 0.8", atLeast(vsMax, 0.8));
    row("overload PUBACK p99 ms", spread([o.ackP99]), 0, "≤ 2,000", atMost(o.ackP99, 2000));
    if (o.reconciled)
      row(
        "overload: acknowledged, never stored",
        spread([o.reconciled.ackedNotStored]),
        0,
        "0",
        o.reconciled.ackedNotStored === 0,
      );
    if (o.rssMinuteAfterMB !== undefined && o.rssBeforeMB !== undefined)
      row(
        "RSS a minute after the overload / before",
        ratios([o.rssMinuteAfterMB], o.rssBeforeMB),
        2,
        "≤ 1.25",
        atMost(o.rssMinuteAfterMB / o.rssBeforeMB, 1.25),
      );
  }
  if (r.connections) {
    const c = r.connections;
    const kb = c.bytesPerConnection / 1000;
    row(
      `idle connections held after the keepalive (of ${fmt(c.target)})`,
      spread([c.heldAfterKeepalive ?? c.held]),
      0,
      "20,000",
      // a quick run opens fewer: the goal is judged only on a run that tried 20,000
      c.target >= 20_000 ? (c.heldAfterKeepalive ?? c.held) >= 20_000 : undefined,
    );
    row("KB per idle connection", spread([kb]), 1, "≤ 30", atMost(kb, 30));
  }
  const track = r.queries.find((q) => q.name === "one vehicle, one day track");
  if (track)
    row(
      `day track p99 ms at ${fmt(track.rows)} rows`,
      spread([track.p99]),
      2,
      "≤ 10 at 10 M rows",
      track.rows >= 10_000_000 ? atMost(track.p99, 10) : undefined,
    );
  if (r.alerts) {
    const s = spread(alertsRatios(r.alerts));
    row("ingest with 100 alert rules / none", s, 2, "≥ 0.9", atLeast(s, 0.9));
  }
  return `${out.join("\n")}\n`;
}

/** A bar chart of max sustained fixes/s per system and mode, as a standalone SVG. */
export function renderSvg(r: BenchResults): string {
  const bars = r.throughput
    .filter((t) => (t.repetition ?? 1) === 1)
    .map((t) => ({ label: `${t.sut} (${t.mode})`, value: t.maxSustained }));
  const max = Math.max(1, ...bars.map((b) => b.value));
  const rowH = 28;
  const width = 720;
  const labelW = 230;
  const height = bars.length * rowH + 40;
  const esc = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const rows = bars.map((b, i) => {
    const w = Math.round(((width - labelW - 90) * b.value) / max);
    const y = 30 + i * rowH;
    return `<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(b.label)}</text><rect x="${labelW}" y="${y}" width="${w}" height="20" fill="#2b7bb9"/><text x="${labelW + w + 6}" y="${y + 15}">${Math.round(b.value).toLocaleString("en-US")}</text>`;
  });
  const title = `Max sustained fixes/s (${esc(r.machine.date)}, ${r.machine.cores} cores)`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12"><title>${title}</title><text x="10" y="18" font-weight="bold">${title}</text>${rows.join("")}</svg>\n`;
}

export const BEGIN = "<!-- bench:begin (written by npm run bench) -->";
export const END = "<!-- bench:end -->";

/** Replaces the bench section of BENCHMARKS.md, leaving the sections others wrote untouched. */
export function spliceSection(doc: string, section: string): string {
  const block = `${BEGIN}\n## Ingest pipeline benchmark\n\n![max sustained](docs/bench-chart.svg)\n\n${section}${END}`;
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a >= 0 && b > a) return `${doc.slice(0, a)}${block}${doc.slice(b + END.length)}`;
  const base = doc.trim() ? doc.trimEnd() : "# Benchmarks";
  return `${base}\n\n${block}\n`;
}
