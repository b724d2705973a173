import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { findInterpolatedSql, sourceFiles } from "./support/sql-scan.ts";

// SQL is built with parameters only ($1 …). This scans the product's source with the TypeScript
// parser and fails on SQL text that interpolates a value (`${…}` in a template literal, or `+`
// with a string): anything interpolated must be on the allow-list below, which names constants
// and identifiers that never come from input, each with the reason it is safe.
const root = fileURLToPath(new URL("../..", import.meta.url));
const DIRS = ["core", "broker", "bridge", "worker", "api", "scripts"];
/** `file: interpolated expression` → why it is safe */
const ALLOWED: Record<string, string> = {
  "core/vehicles.ts: COLUMNS": "a constant column list",
  "core/commands.ts: COLUMNS": "a constant column list",
  "core/notification-channels.ts: CHANNEL_COLUMNS": "a constant column list",
  "api/routes/notification-channels.ts: CHANNEL_COLUMNS": "a constant column list",
  "api/track-query.ts: SELECT": "a constant select list",
  "api/routes/geofences.ts: SELECT": "a constant select list",
  'api/routes/geofences.ts: SELECT.replace("FROM geofences", "FROM ins")':
    "the constant select list, on a CTE",
  'api/routes/geofences.ts: SELECT.replace("FROM geofences", "FROM upd")':
    "the constant select list, on a CTE",
  'api/routes/anomalies.ts: isoSql("recorded_at")': "a constant column name, formatted",
  'api/routes/anomalies.ts: isoSql("received_at")': "a constant column name, formatted",
  'api/routes/analytics.ts: isoSql("first_fix_at")': "a constant column name, formatted",
  'api/routes/geofence-history.ts: isoSql("valid_from")': "a constant column name, formatted",
  'api/routes/geofence-history.ts: isoSql("valid_to")': "a constant column name, formatted",
  'api/routes/geofence-history.ts: isoSql("at")': "a constant column name, formatted",
  "api/routes/alert-rules.ts: SELECT": "a constant select list",
  'api/routes/alert-rules.ts: SELECT.replace("FROM alert_rules", "FROM ins")': "a constant select list",
  'api/routes/alert-rules.ts: SELECT.replace("FROM alert_rules", "FROM upd")': "a constant select list",
  'api/routes/alert-rules.ts: isoSql("created_at")': "a constant column name, formatted",
  'api/routes/alert-rules.ts: isoSql("updated_at")': "a constant column name, formatted",
  "api/routes/alerts.ts: SELECT": "a constant select list",
  'api/routes/alerts.ts: SELECT.replace("FROM alerts", "FROM upd")': "a constant select list",
  'api/routes/alerts.ts: isoSql("acknowledged_at")': "a constant column name, formatted",
  'api/routes/alerts.ts: isoSql("ended_at")': "a constant column name, formatted",
  'api/routes/alerts.ts: isoSql("started_at")': "a constant column name, formatted",
  'worker/derive/reconcile-alerts.ts: MS("a.confirmed_at")': "a constant column name, as epoch ms",
  'worker/derive/reconcile-alerts.ts: MS("a.ended_at")': "a constant column name, as epoch ms",
  'worker/derive/reconcile-alerts.ts: MS("a.started_at")': "a constant column name, as epoch ms",
  'worker/derive/reconcile-alerts.ts: TS("k.s")': "a constant column name, epoch ms as timestamptz",
  'worker/derive/reconcile-alerts.ts: TS("u.c")': "a constant column name, epoch ms as timestamptz",
  'worker/derive/reconcile-alerts.ts: TS("u.e")': "a constant column name, epoch ms as timestamptz",
  'worker/derive/reconcile-alerts.ts: TS("u.s")': "a constant column name, epoch ms as timestamptz",
  'worker/derive/reconcile-alerts.ts: TS("u.since")': "a constant column name, epoch ms as timestamptz",
  "worker/derive/silent-trips.ts: SWEEP_LIMIT": "a numeric constant",
  'api/routes/analytics.ts: isoSql("last_fix_at")': "a constant column name, formatted",
  'api/routes/events.ts: isoSql("at")': "a constant column name, formatted",
  'api/routes/events.ts: isoSql("confirmed_at")': "a constant column name, formatted",
  'api/routes/vehicle-patch.ts: sets.join(", ")': "`column = $n` for columns of the constant COLUMNS list",
  "worker/derive/daily-analytics.ts: minSpeed": 'a placeholder its callers pass: dailyAggregateSql("$4")',
  'worker/derive/daily-analytics.ts: dailyAggregateSql("$4")': "constant SQL with a $4 placeholder",
  'worker/derive/daily-analytics.ts: TS("g.g_last")': "a constant column name, epoch ms as timestamptz",
  'worker/derive/daily-analytics.ts: TS("g.g_anchor")': "a constant column name, epoch ms as timestamptz",
  'worker/derive/daily-analytics.ts: TS("g_first")': "a constant column name, epoch ms as timestamptz",
  'worker/derive/daily-analytics.ts: TS("g_last")': "a constant column name, epoch ms as timestamptz",
  'worker/derive/daily-analytics.ts: TS("u.t")': "a constant column name, epoch ms as timestamptz",
  "worker/derive/derived-writes.ts: table":
    "trips | stops | vehicle_checkpoints, from a constant list in the loop",
  "worker/derive/derived-writes.ts: col": "closed_at | at, from the same constant list",
  "worker/derive/derived-writes.ts: SINCE_MATCH(col)": "constant SQL around that constant column",
  'worker/derive/derived-writes.ts: TS("u.s")': "constant SQL around a constant column alias",
  'worker/derive/derived-writes.ts: TS("u.e")': "constant SQL around a constant column alias",
  'worker/derive/derived-writes.ts: TS("u.c")': "constant SQL around a constant column alias",
  'worker/derive/derived-writes.ts: TS("u.at")': "constant SQL around a constant column alias",
  "core/vehicle-groups.ts: column": 'a constant column name its callers pass: visibleSql("vehicle_id", …)',
  "core/vehicle-groups.ts: param": 'a placeholder its callers pass: visibleSql(…, "$5")',
  'api/routes/alerts.ts: visibleSql("vehicle_id", "$10")':
    "constant SQL with a $10 placeholder (vehicle groups)",
  'api/routes/alerts.ts: visibleSql("vehicle_id", "$3")':
    "constant SQL with a $3 placeholder (vehicle groups)",
  'api/routes/analytics.ts: visibleSql("vehicle_id", "$5")':
    "constant SQL with a $5 placeholder (vehicle groups)",
  'api/routes/anomalies.ts: visibleSql("vehicle_id", "$5")':
    "constant SQL with a $5 placeholder (vehicle groups)",
  'api/routes/events.ts: visibleSql("vehicle_id", "$9")':
    "constant SQL with a $9 placeholder (vehicle groups)",
  'api/routes/rejected.ts: visibleSql("vehicle_id", "$5")':
    "constant SQL with a $5 placeholder (vehicle groups)",
  'api/report-query.ts: isoSql("started_at")': "a constant column name, formatted",
  'api/report-query.ts: isoSql("ended_at")': "a constant column name, formatted",
  'api/report-query.ts: visibleSql("vehicle_id", "$8")':
    "constant SQL with a $8 placeholder (vehicle groups)",
  "api/report-query.ts: SELECT[kind]": "the constant select list of trips or stops (ReportKind)",
  "api/report-query.ts: WHERE": "a constant WHERE clause with placeholders",
  'api/routes/fleet-summary.ts: visibleSql("d.vehicle_id", "$8")':
    "constant SQL with a $8 placeholder (vehicle groups)",
};

describe("SQL is built with parameters only", () => {
  const findings = DIRS.flatMap((d) => sourceFiles(join(root, d))).flatMap((f) =>
    findInterpolatedSql(root, f, readFileSync(f, "utf8")),
  );

  it("finds no value interpolated into SQL text outside the allow-list", () => {
    const offenders = findings.filter((f) => !(f.key in ALLOWED)).map((f) => `${f.key} (line ${f.line})`);
    expect(offenders).toEqual([]);
  });

  it("has no stale allow-list entry", () => {
    const used = new Set(findings.map((f) => f.key));
    expect(Object.keys(ALLOWED).filter((k) => !used.has(k))).toEqual([]);
  });

  it("catches the patterns it is meant to catch", () => {
    // sample source: "${" is written as "$<" and replaced, so this file has no template-like strings
    const sample = [
      "const a = `SELECT * FROM vehicles WHERE id = '$<id}'`;",
      'const b = "DELETE FROM vehicles WHERE id = " + id;',
      'const c = `DROP TABLE IF EXISTS "$<name}"`;',
      'const ok1 = "SELECT * FROM vehicles WHERE id = $1";',
      "const ok2 = `SELECT * FROM vehicles WHERE id = $1`;",
      "const ok3 = `vehicle $<id} removed`;",
    ]
      .join("\n")
      .replaceAll("$<", "$" + "{");
    const keys = findInterpolatedSql(root, join(root, "sample.ts"), sample).map((f) => f.key);
    expect(keys).toEqual(["sample.ts: id", "sample.ts: id", "sample.ts: name"]);
  });
});
