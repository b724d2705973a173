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

/** The enabled versions as of one state of alert_rule_versions, and what was derived from them. */
interface Loaded {
  stamp: string;
  versions: Version[];
  byGroup: boolean;
  readsAttributes: boolean;
  /** forVehicle's answers, per vehicle and its groups */
  memo: Map<string, VehicleAlertRules>;
}

/**
 * Every batch judges its fixes against the rule versions, but they change only when someone edits
 * a rule: reading and parsing them per batch (and building each vehicle's view of them again) was
 * a large share of a batch's cost with 100 rules. The versions are kept per process and read
 * again only when the table's stamp differs: its rows' xmin and ctid, which every insert, update
 * or delete of a version changes (the trigger in sql/013_alerts.sql), read in the batch's own
 * transaction, so a batch judges with exactly the versions it sees.
 */
let cached: Loaded | null = null;

/** [vehicle id, group id] pairs of the vehicles in $1 (json; null: none) */
const GROUPS_OF = `SELECT json_agg(json_build_array(vehicle_id, group_id)) FROM vehicle_group_members
                   WHERE vehicle_id = ANY($1::text[])`;

export class AlertRuleVersions {
  private loaded: Loaded = {
    stamp: "",
    versions: [],
    byGroup: false,
    readsAttributes: false,
    memo: new Map(),
  };
  private groups = new Map<string, Set<number>>();
  private withChannels = new Set<number>();

  /**
   * Every enabled version (cached by stamp), and the groups of `vehicleIds` if a rule scopes by
   * group: read with the stamp, in the same statement, when the cached versions scope by group (a
   * round trip less per batch); read apart only when a batch finds new versions that do.
   */
  async load(client: pg.PoolClient, vehicleIds: readonly string[]): Promise<void> {
    const guess = cached?.byGroup === true && vehicleIds.length > 0;
    const s = await client.query<{ stamp: string; groups: [string, number][] | null; channels: number[] }>({
      name: "alert-rule-versions-stamp",
      text: `SELECT current_database() || ':' || count(*) || ':' ||
                    COALESCE(md5(string_agg(xmin::text || ctid::text, ',' ORDER BY rule_id, valid_from)), '')
                    AS stamp,
                    CASE WHEN $2::boolean THEN (${GROUPS_OF}) END AS groups,
                    ARRAY(SELECT id::float8 FROM alert_rules WHERE cardinality(channel_ids) > 0) AS channels
             FROM alert_rule_versions`,
      values: [vehicleIds, guess],
    });
    const row = s.rows[0] as { stamp: string; groups: [string, number][] | null; channels: number[] };
    this.withChannels = new Set(row.channels);
    if (cached?.stamp !== row.stamp) {
      const r = await client.query<Version>({
        name: "alert-rule-versions",
        text: `SELECT rule_id::float8 AS "ruleId", name, kind, params, scope, quiet_hours AS "quietHours",
                      (extract(epoch FROM valid_from) * 1000)::float8 AS "from",
                      COALESCE((extract(epoch FROM valid_to) * 1000)::float8, 'Infinity') AS "to"
               FROM alert_rule_versions WHERE enabled AND kind NOT IN ('offline', 'no_fix')
               ORDER BY rule_id, valid_from`,
      });
      cached = {
        stamp: row.stamp,
        versions: r.rows,
        byGroup: r.rows.some((v) => v.scope.kind === "group"),
        readsAttributes: r.rows.some(
          (v) =>
            v.kind === "threshold" &&
            !(NUMERIC_FIX_FIELDS as readonly string[]).includes(String(v.params.attribute)),
        ),
        memo: new Map(),
      };
    }
    this.loaded = cached;
    this.groups.clear();
    if (vehicleIds.length === 0 || !this.loaded.byGroup) return;
    let pairs = row.groups;
    if (!guess) {
      const g = await client.query<{ groups: [string, number][] | null }>({
        name: "vehicle-groups-of",
        text: `SELECT (${GROUPS_OF}) AS groups`,
        values: [vehicleIds],
      });
      pairs = g.rows[0]?.groups ?? null;
    }
    for (const [v, id] of pairs ?? []) {
      const set = this.groups.get(v) ?? new Set();
      set.add(id);
      this.groups.set(v, set);
    }
  }

  forVehicle(vehicleId: string): VehicleAlertRules {
    const groups = this.groups.get(vehicleId);
    const key = `${vehicleId}\u0000${[...(groups ?? [])].sort((a, b) => a - b).join(",")}`;
    const { memo } = this.loaded;
    let rules = memo.get(key);
    if (!rules) {
      rules = rulesOf(this.loaded.versions, vehicleId, groups);
      // one entry per vehicle (and group set): a vehicle that changed groups leaves its old one
      if (memo.size > 100_000) memo.clear();
      memo.set(key, rules);
    }
    return rules;
  }

  /**
   * Whether `ruleId` names a notification channel, as read with the stamp in this batch's
   * transaction: a batch whose alerts are all of rules without one writes no outbox row
   * (queue-alert-phases.ts checks again as it inserts).
   */
  notifies(ruleId: number): boolean {
    return this.withChannels.has(ruleId);
  }

  /** Whether a threshold rule reads a device attribute (not a fix field): the track read then fetches them. */
  readsAttributes(): boolean {
    return this.loaded.readsAttributes;
  }
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
