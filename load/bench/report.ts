import type { AlertsRun, BenchResults, Step, ThroughputRun } from "./results.ts";

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? "n/a" : n.toLocaleString("en-US", { maximumFractionDigits: digits });
const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : "n/a");

function best(r: BenchResults, sut: string, mode: ThroughputRun["mode"]): number {
  return r.throughput.find((t) => t.sut === sut && t.mode === mode)?.maxSustained ?? 0;
}

/** "broker 0.61 · worker 0.30 · postgres 0.42": where a step's CPU went (load/bench/cpu.ts). */
function cpuCell(cpu: Record<string, number> | undefined): string {
  if (!cpu) return "n/a";
  return Object.entries(cpu)
    .map(([name, cores]) => `${name} ${cores.toFixed(2)}`)
    .join(" · ");
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
    "The machine is shared and noisy: read the ratios, which come from loads run side by side in this one run.",
  );
  out.push("Load generators are mqtt.js processes on the same machine; their CPU share is in each row.\n");

  out.push("### Throughput (max sustained: delivered ≥ 95 % of offered, p99 publish→commit < 1 s)\n");
  out.push(
    "| system | mode | devices | offered fixes/s | delivered fixes/s | PUBACK p50 / p99 ms | commit p50 / p99 ms | load-gen CPU | CPU by process, cores | RSS MB | sustained |",
  );
  out.push("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const t of r.throughput) {
    for (const s of t.steps) {
      out.push(
        `| ${t.sut} | ${t.mode} | ${t.devices} | ${fmt(s.offeredFixes)} | ${fmt(s.deliveredFixes)} | ${fmt(s.ackP50, 1)} / ${fmt(s.ackP99, 1)} | ${fmt(s.commitP50, 0)} / ${fmt(s.commitP99, 0)} | ${fmt(s.loadCpuShare * 100)} % | ${cpuCell(s.cpu)} | ${fmt(s.rssMB)} | ${s.sustained ? "yes" : "no"} |`,
      );
    }
  }
  out.push(
    "\n| system | mode | max sustained fixes/s | peak delivered fixes/s (any step) |\n|---|---|---|---|",
  );
  for (const t of r.throughput)
    out.push(`| ${t.sut} | ${t.mode} | ${fmt(t.maxSustained)} | ${fmt(t.peakDelivered)} |`);

  if (r.raw.length) {
    out.push("\n### Raw storage (same table, no MQTT, no queue)\n");
    out.push("| method | rows per statement | connections | rows/s |\n|---|---|---|---|");
    for (const x of r.raw) out.push(`| ${x.method} | ${x.batch} | ${x.parallel} | ${fmt(x.rowsPerSec)} |`);
  }
  if (r.overload) {
    const o = r.overload;
    out.push("\n### Overload (2 × max sustained single-fix rate)\n");
    out.push(
      "| offered fixes/s | delivered fixes/s | PUBACK p99 ms | commit p99 ms | peak RSS MB | RSS after MB | acked | stored | lost | recovered in s | load-gen CPU | CPU by process, cores |",
    );
    out.push("|---|---|---|---|---|---|---|---|---|---|---|---|");
    out.push(
      `| ${fmt(o.offeredFixes)} | ${fmt(o.deliveredFixes)} | ${fmt(o.ackP99, 1)} | ${fmt(o.commitP99)} | ${fmt(o.peakRssMB)} | ${fmt(o.rssAfterMB)} | ${fmt(o.acked)} | ${fmt(o.stored)} | ${fmt(Math.max(0, o.acked - o.stored))} | ${fmt(o.recoveredInS, 1)} | ${o.loadCpuShare === undefined ? "n/a" : `${fmt(o.loadCpuShare * 100)} %`} | ${cpuCell(o.cpu)} |`,
    );
  }
  if (r.connections) {
    const c = r.connections;
    out.push("\n### Idle connections (keepalive 60 s)\n");
    out.push(
      "| target | held | broker RSS before MB | after MB | bytes per connection |\n|---|---|---|---|---|",
    );
    out.push(
      `| ${fmt(c.target)} | ${fmt(c.held)} | ${fmt(c.rssBeforeMB)} | ${fmt(c.rssAfterMB)} | ${fmt(c.bytesPerConnection)} |`,
    );
  }
  if (r.queries.length) {
    out.push("\n### Query latency\n");
    out.push("| query | rows in table | p50 ms | p99 ms |\n|---|---|---|---|");
    for (const q of r.queries)
      out.push(`| ${q.name} | ${fmt(q.rows)} | ${fmt(q.p50, 2)} | ${fmt(q.p99, 2)} |`);
  }

  if (r.alerts) out.push(`\n${renderAlerts(r.alerts)}`);

  const pipeSingle = best(r, "pipeline", "single");
  const pipeBatch = best(r, "pipeline", "batch50");
  const aedes = best(r, "aedes-relay", "single");
  const mosq = best(r, "mosquitto-relay", "single");
  const naiveBatch = best(r, "naive", "batch50");
  const naiveSingle = best(r, "naive", "single");
  const fastestRaw = Math.max(
    0,
    ...r.raw.filter((x) => x.method.startsWith("COPY")).map((x) => x.rowsPerSec),
  );
  const workerRaw = Math.max(
    0,
    ...r.raw.filter((x) => !x.method.startsWith("COPY")).map((x) => x.rowsPerSec),
  );
  out.push("\n### Ratios and goals\n");
  out.push("| ratio | value | goal | met |\n|---|---|---|---|");
  const goal = (name: string, v: string, g: string, ok: boolean | undefined) =>
    out.push(`| ${name} | ${v} | ${g} | ${ok === undefined ? "n/a" : ok ? "yes" : "**no**"} |`);
  const num = (a: number, b: number) => (b > 0 ? a / b : undefined);
  const cmp = (v: number | undefined, g: number) => (v === undefined ? undefined : v >= g);
  goal(
    "pipeline single / bare Aedes relay",
    ratio(pipeSingle, aedes),
    "≥ 1.0",
    cmp(num(pipeSingle, aedes), 1),
  );
  goal("pipeline single / Mosquitto relay", ratio(pipeSingle, mosq), "—", undefined);
  goal("pipeline single / naive single", ratio(pipeSingle, naiveSingle), "—", undefined);
  goal(
    "pipeline batch50 / fastest raw COPY",
    ratio(pipeBatch, fastestRaw),
    "≥ 0.75",
    cmp(num(pipeBatch, fastestRaw), 0.75),
  );
  goal("pipeline batch50 / worker statement raw", ratio(pipeBatch, workerRaw), "—", undefined);
  goal(
    "pipeline batch50 / naive batch50",
    ratio(pipeBatch, naiveBatch),
    "≥ 10",
    cmp(num(pipeBatch, naiveBatch), 10),
  );
  if (r.overload) {
    goal(
      "overload delivered / max sustained",
      ratio(r.overload.deliveredFixes, pipeSingle),
      "≥ 0.8",
      cmp(num(r.overload.deliveredFixes, pipeSingle), 0.8),
    );
  }
  if (r.alerts) {
    const v = alertsRatio(r.alerts);
    goal("ingest with 100 alert rules / none", v === undefined ? "n/a" : v.toFixed(2), "≥ 0.9", cmp(v, 0.9));
  }
  return `${out.join("\n")}\n`;
}

/** Max sustained single-fix ingest with the rules over without; undefined when nothing was sustained. */
export function alertsRatio(a: AlertsRun): number | undefined {
  return a.without.maxSustained > 0 ? a.with.maxSustained / a.without.maxSustained : undefined;
}

/**
 * CPU milliseconds the system's processes (or one of them) spent per 1,000 fixes delivered in a
 * step: what a rule costs, read even when a busy machine leaves the ladder short of its capacity.
 */
export function cpuPerThousand(s: Step, process?: string): number | undefined {
  if (!s.cpu || s.deliveredFixes <= 0) return undefined;
  const cores = process ? s.cpu[process] : Object.values(s.cpu).reduce((a, b) => a + b, 0);
  return cores === undefined ? undefined : (cores * 1e6) / s.deliveredFixes;
}

/** The alerts subsection (load/bench/alerts.ts): both ladders step by step, the ratio, the latency. */
export function renderAlerts(a: AlertsRun): string {
  const out: string[] = [];
  const n = a.rules.speeding + a.rules.geofence;
  out.push("### Alerts: ingest with alert rules against none, and alert latency\n");
  out.push(
    `Single-fix ladder, ${fmt(a.devices)} devices, ${a.rules.geofences} geofences in both pipelines; the second has ${n} rules ` +
      `(${a.rules.speeding} speeding, ${a.rules.geofence} geofence enter/exit; every other one scoped to a group of half the vehicles, ` +
      "the rest to the fleet; no channels).\n",
  );
  out.push(
    "| rules | offered fixes/s | delivered fixes/s | PUBACK p99 ms | commit p50 / p99 ms | CPU by process, cores | CPU ms per 1,000 fixes, worker / all | sustained |",
  );
  out.push("|---|---|---|---|---|---|---|---|");
  for (const [label, t] of [
    ["none", a.without],
    [String(n), a.with],
  ] as const)
    for (const s of t.steps)
      out.push(
        `| ${label} | ${fmt(s.offeredFixes)} | ${fmt(s.deliveredFixes)} | ${fmt(s.ackP99, 1)} | ${fmt(s.commitP50)} / ${fmt(s.commitP99)} | ${cpuCell(s.cpu)} | ${fmt(cpuPerThousand(s, "worker"))} / ${fmt(cpuPerThousand(s))} | ${s.sustained ? "yes" : "no"} |`,
      );
  out.push(
    "\n| rules | max sustained fixes/s | peak delivered fixes/s | alert episodes stored |\n|---|---|---|---|",
  );
  out.push(
    `| none | ${fmt(a.without.maxSustained)} | ${fmt(a.without.peakDelivered)} | ${fmt(a.alertsWithout)} |`,
  );
  out.push(`| ${n} | ${fmt(a.with.maxSustained)} | ${fmt(a.with.peakDelivered)} | ${fmt(a.alertsWith)} |`);
  const v = alertsRatio(a);
  out.push(
    `\nRatio, max sustained with ${n} rules / none: **${v === undefined ? "n/a" : v.toFixed(2)}** (goal ≥ 0.9).\n`,
  );
  const l = a.latency;
  out.push(
    `Alert latency, the triggering fix's PUBACK → its \`start\` webhook received (${l.vehicles} vehicles, one speeding episode each a second for ${l.seconds} s, ` +
      "a rule with no minimum notifying a webhook receiver in the bench; exact percentiles of the samples):\n",
  );
  out.push(
    "| triggers acked | webhooks received | p50 ms | p99 ms | max ms | bad signatures |\n|---|---|---|---|---|---|",
  );
  out.push(
    `| ${fmt(l.triggers)} | ${fmt(l.received)} | ${fmt(l.p50, 1)} | ${fmt(l.p99, 1)} | ${fmt(l.max, 1)} | ${fmt(l.badSignatures)} |`,
  );
  return `${out.join("\n")}\n`;
}

/** A bar chart of max sustained fixes/s per system and mode, as a standalone SVG. */
export function renderSvg(r: BenchResults): string {
  const bars = r.throughput.map((t) => ({ label: `${t.sut} (${t.mode})`, value: t.maxSustained }));
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
