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

/** One version of a rule, valid in [from, to) (epoch ms). */
export interface Version extends AlertRuleAt {
  from: number;
  to: number;
  scope: AlertScope;
}

/** One rule that may apply to a vehicle, as the machine walks them for every fix. */
export interface RuleSlot {
  ruleId: number;
  /** its versions in scope for the vehicle, oldest first */
  versions: readonly Version[];
  /** every version a geofence kind: only a geofence event concerns it */
  fence: boolean;
  /**
   * Every version a speeding rule: the lowest of their limits (km/h); otherwise -Infinity. At a
   * speed at or below it no version holds, so a fix changes nothing for the rule unless it has a
   * run: the walk passes it by (most speeding rules at most fixes).
   */
  speedFloor: number;
}

/** The rules that may apply to one vehicle. */
export interface VehicleAlertRules {
  /** every rule, in rule id order */
  all: readonly RuleSlot[];
  /** those of `all` that are not geofence rules, in the same order */
  durations: readonly RuleSlot[];
  /** the slot of `all` of each rule id */
  byRule: ReadonlyMap<number, RuleSlot>;
}

export const noAlertRules: VehicleAlertRules = { all: [], durations: [], byRule: new Map() };

/** The version of `slot`'s rule valid at `t` (in scope for the vehicle); undefined: none. */
export function versionAt(slot: RuleSlot, t: number): AlertRuleAt | undefined {
  // per rule and fix: a loop, no closure
  for (const v of slot.versions) if (v.from <= t && t < v.to) return v;
  return undefined;
}

const isFenceKind = (kind: AlertRuleKind) => kind === "geofence_enter" || kind === "geofence_exit";

/** The enabled versions as of one pair of stamps, and what was derived from them. */
interface Loaded {
  /** the stamps the data was read after (null: not to be cached) */
  rulesStamp: string | null;
  groupsStamp: string | null;
  versions: Version[];
  /** the groups some version scopes by */
  groupIds: number[];
  readsAttributes: boolean;
  /** the rules that name a notification channel */
  withChannels: ReadonlySet<number>;
  /** the groups of `groupIds` each vehicle is in */
  groups: ReadonlyMap<string, ReadonlySet<number>>;
  /** forVehicle's answers, per vehicle */
  memo: Map<string, VehicleAlertRules>;
}

/**
 * Every batch judges its fixes against the rule versions, but they change only when someone edits
 * a rule: reading and parsing them per batch (and building each vehicle's view of them again) was
 * a large share of a batch's cost with 100 rules. So were a stamp aggregated over every version
 * and the groups of the batch's vehicles, read per batch to see whether anything had changed,
 * cost as much again (BENCHMARKS.md, "What a stored fix costs PostgreSQL"). Now the versions, which rules notify, and the members of
 * the groups the rules scope by are kept per process and read again only when a change stamp
 * moves (sql/021_change_stamps.sql: a row for the rules and one for the group members, each
 * bumped with a new random token by every statement that changes its tables, in that
 * statement's transaction). The stamps are read in the batch's own transaction before anything
 * they cover, so a batch never judges with rules or groups older than its transaction can see.
 * A change to the members alone re-reads only the members, and only when a rule scopes by
 * group. Batches that find the same new stamps at once share one read. Without both stamp rows
 * (refused by the table's triggers, but a restore can lose them) nothing is cached: every batch
 * reads the rules itself.
 */
let cached: Loaded | null = null;
const reading = new Map<string, Promise<Loaded>>();

const STAMPS = `SELECT (SELECT current_database() || '/' || oid FROM pg_database WHERE datname = current_database()) AS db,
                       max(CASE WHEN name = 'alert_rules' THEN n || '/' || token END) AS rules,
                       max(CASE WHEN name = 'vehicle_groups' THEN n || '/' || token END) AS groups
                FROM change_stamps`;

export class AlertRuleVersions {
  private loaded: Loaded = {
    rulesStamp: null,
    groupsStamp: null,
    versions: [],
    groupIds: [],
    readsAttributes: false,
    withChannels: new Set(),
    groups: new Map(),
    memo: new Map(),
  };

  /** The rules, which notify, and the groups they scope by, as of this transaction (cached by stamp). */
  async load(client: pg.PoolClient): Promise<void> {
    const s = await client.query<{ db: string; rules: string | null; groups: string | null }>({
      name: "change-stamps",
      text: STAMPS,
    });
    const row = s.rows[0];
    const rules = row?.rules ? `${row.db}:${row.rules}` : null;
    const groups = row?.groups ? `${row.db}:${row.groups}` : null;
    if (rules === null || groups === null) {
      cached = null;
      this.loaded = await readRules(client, null, null);
      return;
    }
    const have = cached;
    if (have?.rulesStamp === rules && have.groupsStamp === groups) {
      this.loaded = have;
      return;
    }
    const next = await once(`${rules} ${groups}`, () =>
      have?.rulesStamp === rules
        ? // the members alone changed: re-read them only if a rule scopes by group
          readMembers(client, have, groups)
        : readRules(client, rules, groups),
    );
    cached = next;
    this.loaded = next;
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
   * Whether `ruleId` names a notification channel, as of this batch's transaction: a batch whose
   * alerts are all of rules without one writes no outbox row (queue-alert-phases.ts checks again as
   * it inserts).
   */
  notifies(ruleId: number): boolean {
    return this.loaded.withChannels.has(ruleId);
  }

  /** Whether a threshold rule reads a device attribute (not a fix field): the track read then fetches them. */
  readsAttributes(): boolean {
    return this.loaded.readsAttributes;
  }
}

/** One read per pair of stamps at a time: batches that find the same new stamps share it. */
async function once(key: string, read: () => Promise<Loaded>): Promise<Loaded> {
  const running = reading.get(key);
  if (running) {
    try {
      return await running;
    } catch {
      // that batch's read failed (its transaction did): this one reads for itself
    }
  }
  const p = read();
  reading.set(key, p);
  try {
    return await p;
  } finally {
    if (reading.get(key) === p) reading.delete(key);
  }
}

/** Everything the stamps cover, read in the batch's transaction after them. */
async function readRules(
  client: pg.PoolClient,
  rulesStamp: string | null,
  groupsStamp: string | null,
): Promise<Loaded> {
  const r = await client.query<Version>({
    name: "alert-rule-versions",
    text: `SELECT rule_id::float8 AS "ruleId", name, kind, params, scope, quiet_hours AS "quietHours",
                  (extract(epoch FROM valid_from) * 1000)::float8 AS "from",
                  COALESCE((extract(epoch FROM valid_to) * 1000)::float8, 'Infinity') AS "to"
           FROM alert_rule_versions WHERE enabled AND kind NOT IN ('offline', 'no_fix')
           ORDER BY rule_id, valid_from`,
  });
  const groupIds = [...new Set(r.rows.flatMap((v) => (v.scope.kind === "group" ? [v.scope.groupId] : [])))];
  const c = await client.query<{ channels: number[] }>({
    name: "alert-rule-channels",
    text: "SELECT ARRAY(SELECT id::float8 FROM alert_rules WHERE cardinality(channel_ids) > 0) AS channels",
  });
  const loaded: Loaded = {
    rulesStamp,
    groupsStamp,
    versions: r.rows,
    groupIds,
    readsAttributes: r.rows.some(
      (v) =>
        v.kind === "threshold" &&
        !(NUMERIC_FIX_FIELDS as readonly string[]).includes(String(v.params.attribute)),
    ),
    withChannels: new Set(c.rows[0]?.channels ?? []),
    groups: new Map(),
    memo: new Map(),
  };
  return readMembers(client, loaded, groupsStamp);
}

/** The members of the groups the rules scope by (none read when no rule does). */
async function readMembers(client: pg.PoolClient, from: Loaded, groupsStamp: string | null): Promise<Loaded> {
  // no rule scopes by group: memberships change nothing, the memo stays valid
  if (from.groupIds.length === 0) return { ...from, groupsStamp };
  const groups = new Map<string, Set<number>>();
  const m = await client.query<{ members: [string, number][] | null }>({
    name: "alert-rule-group-members",
    text: `SELECT json_agg(json_build_array(vehicle_id, group_id)) AS members
           FROM vehicle_group_members WHERE group_id = ANY($1::bigint[])`,
    values: [from.groupIds],
  });
  for (const [v, id] of m.rows[0]?.members ?? []) {
    const set = groups.get(v) ?? new Set();
    set.add(id);
    groups.set(v, set);
  }
  return { ...from, groupsStamp, groups, memo: new Map() };
}

function speedFloor(versions: readonly Version[]): number {
  let floor = Number.POSITIVE_INFINITY;
  for (const v of versions) {
    const limit = (v.params as { limitKmh?: unknown }).limitKmh;
    if (v.kind !== "speeding" || typeof limit !== "number") return Number.NEGATIVE_INFINITY;
    floor = Math.min(floor, limit);
  }
  return floor;
}

export function rulesOf(
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
  const all = [...byRule].map(([ruleId, versions]): RuleSlot => {
    return {
      ruleId,
      versions,
      fence: versions.every((v) => isFenceKind(v.kind)),
      speedFloor: speedFloor(versions),
    };
  });
  return {
    all,
    durations: all.filter((slot) => !slot.fence),
    byRule: new Map(all.map((slot) => [slot.ruleId, slot])),
  };
}
