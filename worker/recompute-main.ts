import { parseArgs } from "node:util";
import { loadConfigOrExit, workerConfigSchema } from "../core/config.ts";
import { createPool } from "../core/db.ts";
import { type RecomputeReport, recomputeDerived } from "./derive/recompute.ts";

/**
 * `npm run -s logitrack -- recompute [--vehicle ID]... [--dry-run] [--json]` (scripts/cli.ts runs
 * this): derives trips, stops, geofence events and the daily rollup of the existing data again
 * with the current rules (worker/derive/recompute.ts), safely beside running workers, and reports
 * how many rows it changed. Run it once after upgrading to rules that change what is derived
 * (sql/009_daily_gaps.sql), or after changing TRIP_GAP_SECONDS, MOVING_SPEED_KMH and the like.
 */
const { values: opts } = parseArgs({
  options: {
    vehicle: { type: "string", multiple: true },
    "dry-run": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const config = loadConfigOrExit(workerConfigSchema);
const pool = createPool(config.DATABASE_URL, 2);
try {
  const report = await recomputeDerived(pool, config, {
    ...(opts.vehicle ? { vehicleIds: opts.vehicle } : {}),
    dryRun: opts["dry-run"],
    progress: (done, total) => {
      if (!opts.json && done % 100 === 0) process.stderr.write(`recompute: ${done} of ${total} vehicles\n`);
    },
  });
  console.log(opts.json ? JSON.stringify(report) : formatReport(report, config.TRIP_GAP_SECONDS));
} finally {
  await pool.end();
}

function formatReport(r: RecomputeReport, gapSeconds: number): string {
  const row = (name: string, c: { added: number; removed: number; updated?: number; unchanged?: number }) =>
    [
      name.padEnd(20),
      ...[c.added, c.removed, c.updated ?? "-", c.unchanged ?? "-"].map((n) => String(n).padStart(11)),
    ].join("");
  return [
    `recomputed ${r.vehicles} vehicle(s) with TRIP_GAP_SECONDS=${gapSeconds}`,
    `${"".padEnd(20)}${["added", "removed", "updated", "unchanged"].map((h) => h.padStart(11)).join("")}`,
    row("trips", r.trips),
    row("stops", r.stops),
    row("daily_vehicle_stats", r.daily),
    row("geofence_events", { added: r.events.added, removed: r.events.retracted }),
    `${r.changed} row(s) changed${r.dryRun ? " (dry run: rolled back)" : ""}`,
  ].join("\n");
}
