// Number and CPU cells shared by the bench report's sections (report.ts, report-alerts.ts).

export const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? "n/a" : n.toLocaleString("en-US", { maximumFractionDigits: digits });

/** "broker 0.61 · worker 0.30 · postgres 0.42": where a step's CPU went (load/bench/cpu.ts). */
export function cpuCell(cpu: Record<string, number> | undefined): string {
  if (!cpu) return "n/a";
  return Object.entries(cpu)
    .map(([name, cores]) => `${name} ${cores.toFixed(2)}`)
    .join(" · ");
}
