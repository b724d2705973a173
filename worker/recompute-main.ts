import { parseArgs } from "node:util";
import { loadConfigOrExit, workerConfigSchema } from "../core/config.ts";
import { createPool } from "../core/db.ts";
import {
  derivationSettings,
  formatSettings,
  readDerivationSettings,
  settingsDiff,
} from "./derive/derivation-settings.ts";
import { type RecomputeReport, recomputeDerived } from "./derive/recompute.ts";

/**
 * `npm run -s logitrack -- recompute [--vehicle ID]... [--dry-run] [--json] [--use-current-env]`
 * (scripts/cli.ts runs this): derives trips, stops, geofence events and the daily rollup of the
 * existing data again (worker/derive/recompute.ts), safely beside running workers, and reports how
 * many rows it changed. Run it once after upgrading to rules that change what is derived
 * (sql/009_daily_gaps.sql), or after changing TRIP_GAP_SECONDS, MOVING_SPEED_KMH and the like
 * (and restarting the workers with them).
 *
 * The rules are the workers': each records its settings at start (derivation_settings). This
 * command's own environment (a plain shell has the defaults) must match them, or it refuses and
 * prints both; --use-current-env derives with its own environment all the same. With no settings
 * recorded (no worker of this version ran yet) it uses its environment.
 */
const { values: opts } = parseArgs({
  options: {
    vehicle: { type: "string", multiple: true },
    "dry-run": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    "use-current-env": { type: "boolean", default: false },
  },
});
const config = loadConfigOrExit(workerConfigSchema);
const pool = createPool(config.DATABASE_URL, 2);
try {
  const recorded = await readDerivationSettings(pool);
  const differs = recorded ? settingsDiff(derivationSettings(config), recorded.settings) : [];
  if (recorded && differs.length > 0 && !opts["use-current-env"]) {
    console.error(
      [
        `recompute: refused: this environment's rules differ from the workers' (${differs.join(", ")})`,
        `  workers (recorded ${recorded.recordedAt.toISOString()} by ${recorded.recordedBy}): ${formatSettings(recorded.settings)}`,
        `  this environment: ${formatSettings(derivationSettings(config))}`,
        "Run it with the workers' settings, or pass --use-current-env to rewrite history with this environment's.",
      ].join("\n"),
    );
    process.exitCode = 2;
  } else {
    if (!recorded) console.error("recompute: no worker has recorded its settings: using this environment's");
    const report = await recomputeDerived(pool, config, {
      ...(opts.vehicle ? { vehicleIds: opts.vehicle } : {}),
      dryRun: opts["dry-run"],
      progress: (done, total) => {
        if (!opts.json && done % 100 === 0) process.stderr.write(`recompute: ${done} of ${total} vehicles\n`);
      },
    });
    console.log(opts.json ? JSON.stringify(report) : formatReport(report, config));
  }
} finally {
  await pool.end();
}

function formatReport(r: RecomputeReport, rules: Parameters<typeof derivationSettings>[0]): string {
  const row = (name: string, c: { added: number; removed: number; updated?: number; unchanged?: number }) =>
    [
      name.padEnd(20),
      ...[c.added, c.removed, c.updated ?? "-", c.unchanged ?? "-"].map((n) => String(n).padStart(11)),
    ].join("");
  return [
    `recomputed ${r.vehicles} vehicle(s) with TRIP_GAP_SECONDS=${rules.TRIP_GAP_SECONDS}`,
    `rules: ${formatSettings(derivationSettings(rules))}`,
    `${"".padEnd(20)}${["added", "removed", "updated", "unchanged"].map((h) => h.padStart(11)).join("")}`,
    row("trips", r.trips),
    row("stops", r.stops),
    row("daily_vehicle_stats", r.daily),
    row("geofence_events", { added: r.events.added, removed: r.events.retracted }),
    `${r.changed} row(s) changed${r.dryRun ? " (dry run: rolled back)" : ""}`,
  ].join("\n");
}
