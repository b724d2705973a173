import { cpuCell, fmt, spread, spreadText } from "./report-format.ts";
import type { AlertsRun, Step, ThroughputRun } from "./results.ts";

// The alerts subsection of the bench report (load/bench/alerts.ts measures it).

type Pair = { without: ThroughputRun; with: ThroughputRun; alertsWithout: number; alertsWith: number };

/** The ladder pairs in the order they ran: the first, then any repetitions. */
function pairs(a: AlertsRun): Pair[] {
  return [a, ...(a.more ?? [])];
}

/**
 * Max sustained single-fix ingest with the rules over without, within each pair; undefined for a
 * pair whose ladder without rules sustained nothing.
 */
export function alertsRatios(a: AlertsRun): (number | undefined)[] {
  return pairs(a).map((p) =>
    p.without.maxSustained > 0 ? p.with.maxSustained / p.without.maxSustained : undefined,
  );
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

/** The steps' pre-roll in seconds (0: none), as the first pair's first step ran it. */
function preRollOf(a: AlertsRun): number {
  return a.without.steps[0]?.preRoll?.seconds ?? 0;
}

/** The alerts subsection (load/bench/alerts.ts): each pair of ladders step by step, the ratio, the latency. */
export function renderAlerts(a: AlertsRun): string {
  const out: string[] = [];
  const n = a.rules.speeding + a.rules.geofence;
  out.push("### Alerts: ingest with alert rules against none, and alert latency\n");
  out.push(
    `Single-fix ladder, ${fmt(a.devices)} devices, ${a.rules.geofences} geofences in both pipelines; the second has ${n} rules ` +
      `(${a.rules.speeding} speeding, ${a.rules.geofence} geofence enter/exit; every other one scoped to a group of half the vehicles, ` +
      "the rest to the fleet; no channels)." +
      (preRollOf(a) > 0
        ? ` Each step publishes at its rate for a ${preRollOf(a)} s pre-roll before its window opens (each pipeline idles while the other climbs); ` +
          "the pre-roll's commit p99 is shown, not judged, and the step's PUBACK p99 leaves the pre-roll out."
        : "") +
      (a.without.steps[0]?.parked !== undefined
        ? " Each step ends with its fleet parked (one more fix per device at 0 km/h, after the window), so the next starts with no " +
          "speeding run open: a fleet that falls silent mid-drive and comes back at once confirms every run that spanned the " +
          "silence, measured apart (`npm run -s bench:profile -- --after-pause 35 --alert-rules`)."
        : "") +
      "\n",
  );
  out.push(
    "| rules | offered fixes/s | delivered fixes/s | PUBACK p99 ms | commit p50 / p99 ms | pre-roll commit p99 ms | CPU by process, cores | CPU ms per 1,000 fixes, worker / all | sustained |",
  );
  out.push("|---|---|---|---|---|---|---|---|---|");
  const all = pairs(a);
  const run = (i: number) => (all.length > 1 ? ` (run ${i + 1})` : "");
  all.forEach((p, i) => {
    for (const [label, t] of [
      ["none", p.without],
      [String(n), p.with],
    ] as const)
      for (const s of t.steps)
        out.push(
          `| ${label}${run(i)} | ${fmt(s.offeredFixes)}${s.refined ? " (refined)" : ""} | ${fmt(s.deliveredFixes)} | ${fmt(s.ackP99, 1)} | ${fmt(s.commitP50)} / ${fmt(s.commitP99)} | ${s.preRoll ? fmt(s.preRoll.commitP99) : "–"} | ${cpuCell(s.cpu)} | ${fmt(cpuPerThousand(s, "worker"))} / ${fmt(cpuPerThousand(s))} | ${s.sustained ? "yes" : "no"} |`,
        );
  });
  out.push(
    "\n| rules | max sustained fixes/s | peak delivered fixes/s | alert episodes stored |\n|---|---|---|---|",
  );
  all.forEach((p, i) => {
    out.push(
      `| none${run(i)} | ${fmt(p.without.maxSustained)} | ${fmt(p.without.peakDelivered)} | ${fmt(p.alertsWithout)} |`,
    );
    out.push(
      `| ${n}${run(i)} | ${fmt(p.with.maxSustained)} | ${fmt(p.with.peakDelivered)} | ${fmt(p.alertsWith)} |`,
    );
  });
  const ratios = alertsRatios(a);
  const each =
    ratios.length > 1
      ? ` in each of the ${ratios.length} pairs ${ratios.map((v) => (v === undefined ? "n/a" : v.toFixed(2))).join(", ")}; median (range)`
      : "";
  out.push(
    `\nRatio, max sustained with ${n} rules / none${each}${preRollOf(a) > 0 ? ` (steps measured after their pre-roll: the recovery after each pause is in the pre-roll column, not in the ratio)` : ""}: **${spreadText(spread(ratios), 2)}** (goal ≥ 0.9).\n`,
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
