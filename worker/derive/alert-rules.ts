import type pg from "pg";
import { NUMERIC_FIX_FIELDS } from "../../core/alert-params.ts";
import type { AlertRuleKind, AlertScope, QuietHours } from "../../core/alerts.ts";

/**
 * Alert rules as they were (sql/013_alerts.sql, alert_rule_versions): the machine judges a fix
 * against the version of each rule valid at its recorded time and in scope for its vehicle, so a
 * replay gives what the rules said then. Disabled versions are left out (a rule switched off
 * applies to nothing while it is off). Group membership is read as it is now: groups are not
 * versioned, so a replay after a membership change judges the past with today's groups.
 */
export interface AlertRuleAt {
  ruleId: number;
  name: string;
  kind: AlertRuleKind;
  params: Record<string, unknown>;
  quietHours: QuietHours | null;
}

/** The rules that may apply to one vehicle. */
export interface VehicleAlertRules {
  ids: readonly number[];
  /** the version of `ruleId` valid at `t`, in scope for the vehicle; undefined: none */
  at(ruleId: number, t: number): AlertRuleAt | undefined;
}

interface Version extends AlertRuleAt {
  from: number;
  to: number;
  scope: AlertScope;
}

export const noAlertRules: VehicleAlertRules = { ids: [], at: () => undefined };

export class AlertRuleVersions {
  private versions: Version[] = [];
  private groups = new Map<string, Set<number>>();

  /** Every enabled version (one statement), and the groups of `vehicleIds` if a rule scopes by group. */
  async load(client: pg.PoolClient, vehicleIds: readonly string[]): Promise<void> {
    const r = await client.query<Version>({
      name: "alert-rule-versions",
      text: `SELECT rule_id::float8 AS "ruleId", name, kind, params, scope, quiet_hours AS "quietHours",
                    (extract(epoch FROM valid_from) * 1000)::float8 AS "from",
                    COALESCE((extract(epoch FROM valid_to) * 1000)::float8, 'Infinity') AS "to"
             FROM alert_rule_versions WHERE enabled AND kind NOT IN ('offline', 'no_fix')
             ORDER BY rule_id, valid_from`,
    });
    this.versions = r.rows;
    this.groups.clear();
    if (vehicleIds.length === 0 || !this.versions.some((v) => v.scope.kind === "group")) return;
    const g = await client.query<{ v: string; g: number }>({
      name: "vehicle-groups-of",
      text: `SELECT vehicle_id AS v, group_id::float8 AS g FROM vehicle_group_members
             WHERE vehicle_id = ANY($1::text[])`,
      values: [vehicleIds],
    });
    for (const { v, g: id } of g.rows) {
      const set = this.groups.get(v) ?? new Set();
      set.add(id);
      this.groups.set(v, set);
    }
  }

  forVehicle(vehicleId: string): VehicleAlertRules {
    const groups = this.groups.get(vehicleId);
    const mine = this.versions.filter((v) =>
      v.scope.kind === "fleet"
        ? true
        : v.scope.kind === "vehicle"
          ? v.scope.vehicleId === vehicleId
          : (groups?.has(v.scope.groupId) ?? false),
    );
    if (mine.length === 0) return noAlertRules;
    const byRule = new Map<number, Version[]>();
    for (const v of mine) byRule.set(v.ruleId, [...(byRule.get(v.ruleId) ?? []), v]);
    return {
      ids: [...byRule.keys()],
      at: (ruleId, t) => byRule.get(ruleId)?.find((v) => v.from <= t && t < v.to),
    };
  }

  /** Whether a threshold rule reads a device attribute (not a fix field): the track read then fetches them. */
  readsAttributes(): boolean {
    return this.versions.some(
      (v) =>
        v.kind === "threshold" &&
        !(NUMERIC_FIX_FIELDS as readonly string[]).includes(String(v.params.attribute)),
    );
  }
}
