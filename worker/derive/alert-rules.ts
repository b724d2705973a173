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
  /** whether `ruleId` is among `ids` */
  has(ruleId: number): boolean;
  /** the version of `ruleId` valid at `t`, in scope for the vehicle; undefined: none */
  at(ruleId: number, t: number): AlertRuleAt | undefined;
}

interface Version extends AlertRuleAt {
  from: number;
  to: number;
  scope: AlertScope;
}

export const noAlertRules: VehicleAlertRules = { ids: [], has: () => false, at: () => undefined };

/** The enabled versions as of one stamp, and what was derived from them. */
interface Loaded {
  stamp: string;
  versions: Version[];
  byGroup: boolean;
  readsAttributes: boolean;
  /** the rules that name a notification channel */
  withChannels: ReadonlySet<number>;
  /** every vehicle's groups; read only when a version scopes by group */
  groups: ReadonlyMap<string, ReadonlySet<number>>;
  /** forVehicle's answers, per vehicle */
  memo: Map<string, VehicleAlertRules>;
}

/**
 * Every batch judges its fixes against the rule versions, but they change only when someone edits
 * a rule: reading and parsing them per batch (and building each vehicle's view of them again) was
 * a large share of a batch's cost with 100 rules. So were a stamp aggregated over every version
 * and the groups of the batch's vehicles, read per batch to see whether anything had changed
 * (~23 µs a stored fix with 100 rules). Now the versions, which rules notify, and (when a rule
 * scopes by group) every vehicle's groups are kept per process and read again only when the
 * change stamps differ (sql/021_change_stamps.sql: two rows, bumped by every statement that
 * changes the rules, their versions or the group members, in its own transaction). The stamps
 * are read in the batch's own transaction, so a batch judges with exactly the rules and groups it
 * sees.
 */
let cached: Loaded | null = null;

const STAMP = `SELECT current_database() || ':' || string_agg(name || '=' || n || '@' || xmin::text, ',' ORDER BY name)
                      AS stamp
               FROM change_stamps`;

export class AlertRuleVersions {
  private loaded: Loaded = {
    stamp: "",
    versions: [],
    byGroup: false,
    readsAttributes: false,
    withChannels: new Set(),
    groups: new Map(),
    memo: new Map(),
  };

  /** The rules, which notify, and the groups, as of this transaction (cached by stamp). */
  async load(client: pg.PoolClient): Promise<void> {
    const s = await client.query<{ stamp: string }>({ name: "change-stamps", text: STAMP });
    const stamp = s.rows[0]?.stamp ?? "";
    if (cached?.stamp !== stamp) cached = await readRules(client, stamp);
    this.loaded = cached;
  }

  forVehicle(vehicleId: string): VehicleAlertRules {
    const { memo, groups, versions } = this.loaded;
    let rules = memo.get(vehicleId);
    if (!rules) {
      rules = rulesOf(versions, vehicleId, groups.get(vehicleId));
      // one entry per vehicle: groups changing change the stamp, and a new stamp a new memo
      if (memo.size > 100_000) memo.clear();
      memo.set(vehicleId, rules);
    }
    return rules;
  }

  /**
   * Whether `ruleId` names a notification channel, as of this batch's transaction: a batch whose alerts are all of rules without one writes no outbox row
   * (queue-alert-phases.ts checks again as it inserts).
   */
  notifies(ruleId: number): boolean {
    return this.loaded.withChannels.has(ruleId);
  }

  /** Whether a threshold rule reads a device attribute (not a fix field): the track read then fetches them. */
  readsAttributes(): boolean {
    return this.loaded.readsAttributes;
  }
}

/** Everything a stamp covers, read in the batch's transaction. */
async function readRules(client: pg.PoolClient, stamp: string): Promise<Loaded> {
  const r = await client.query<Version>({
    name: "alert-rule-versions",
    text: `SELECT rule_id::float8 AS "ruleId", name, kind, params, scope, quiet_hours AS "quietHours",
                  (extract(epoch FROM valid_from) * 1000)::float8 AS "from",
                  COALESCE((extract(epoch FROM valid_to) * 1000)::float8, 'Infinity') AS "to"
           FROM alert_rule_versions WHERE enabled AND kind NOT IN ('offline', 'no_fix')
           ORDER BY rule_id, valid_from`,
  });
  const byGroup = r.rows.some((v) => v.scope.kind === "group");
  const extra = await client.query<{ channels: number[]; members: [string, number][] | null }>({
    name: "alert-rule-channels-groups",
    text: `SELECT ARRAY(SELECT id::float8 FROM alert_rules WHERE cardinality(channel_ids) > 0) AS channels,
                  CASE WHEN $1::boolean
                       THEN (SELECT json_agg(json_build_array(vehicle_id, group_id)) FROM vehicle_group_members)
                  END AS members`,
    values: [byGroup],
  });
  const row = extra.rows[0];
  const groups = new Map<string, Set<number>>();
  for (const [v, id] of row?.members ?? []) {
    const set = groups.get(v) ?? new Set();
    set.add(id);
    groups.set(v, set);
  }
  return {
    stamp,
    versions: r.rows,
    byGroup,
    readsAttributes: r.rows.some(
      (v) =>
        v.kind === "threshold" &&
        !(NUMERIC_FIX_FIELDS as readonly string[]).includes(String(v.params.attribute)),
    ),
    withChannels: new Set(row?.channels ?? []),
    groups,
    memo: new Map(),
  };
}

function rulesOf(
  versions: readonly Version[],
  vehicleId: string,
  groups: ReadonlySet<number> | undefined,
): VehicleAlertRules {
  const byRule = new Map<number, Version[]>();
  for (const v of versions) {
    const mine =
      v.scope.kind === "fleet"
        ? true
        : v.scope.kind === "vehicle"
          ? v.scope.vehicleId === vehicleId
          : (groups?.has(v.scope.groupId) ?? false);
    if (!mine) continue;
    const list = byRule.get(v.ruleId);
    if (list) list.push(v);
    else byRule.set(v.ruleId, [v]);
  }
  if (byRule.size === 0) return noAlertRules;
  return {
    ids: [...byRule.keys()],
    has: (ruleId) => byRule.has(ruleId),
    at: (ruleId, t) => {
      // per rule and fix: a loop, no closure
      for (const v of byRule.get(ruleId) ?? []) if (v.from <= t && t < v.to) return v;
      return undefined;
    },
  };
}
