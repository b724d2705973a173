import { cpuCell, fmt } from "./report-format.ts";
import type { AlertsRun, Step } from "./results.ts";

// The alerts subsection of the bench report (load/bench/alerts.ts measures it).

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
        `| ${label} | ${fmt(s.offeredFixes)}${s.refined ? " (refined)" : ""} | ${fmt(s.deliveredFixes)} | ${fmt(s.ackP99, 1)} | ${fmt(s.commitP50)} / ${fmt(s.commitP99)} | ${cpuCell(s.cpu)} | ${fmt(cpuPerThousand(s, "worker"))} / ${fmt(cpuPerThousand(s))} | ${s.sustained ? "yes" : "no"} |`,
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
