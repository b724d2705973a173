import type pg from "pg";
import type { AlertRuleKind, AlertScope } from "../../core/alerts.ts";

/**
 * The alert rules the bench's alerts section runs the ingest ladder with (load/bench/alerts.ts),
 * fitted to what load/bench/publisher.ts sends: vehicle j of a publisher process sits at latitude
 * 25 + j × 0.0005 and a longitude that cycles over 55 + (j + k × devices) × 0.0001, and its speed
 * cycles over (j + k × devices) mod 120 km/h. So two speeding rules with limits just under 120 and
 * no minimum fire at about 1 fix in 40, the others track runs of fixes over their limit that end
 * before their minimum, and the geofences are narrow latitude bands over the fleet's area (a few
 * vehicles each) with an eastern edge the vehicles cross when their longitude cycles (in quick
 * mode, a few fixes in a hundred; in the full ladder each vehicle stays put, so the geofence rules
 * fire at its first fix and are then judged without firing). Real fleets raise far fewer alerts
 * per fix: this is the busy end.
 */
export interface BenchRule {
  name: string;
  kind: AlertRuleKind;
  params: Record<string, unknown>;
  scope: AlertScope;
}

/** A rectangle, [west, south, east, north] in degrees. */
export type Box = [number, number, number, number];

export const FENCE_COUNT = 25;

/** Latitude bands 0.001° high every 0.02°, from longitude 54.99 to 55.06. */
export function benchFences(count = FENCE_COUNT): Box[] {
  return Array.from({ length: count }, (_, k) => [54.99, 25 + k * 0.02, 55.06, 25 + k * 0.02 + 0.001]);
}

/**
 * `speeding` speeding rules and `fenceIds.length × 2` geofence rules (enter and exit per fence),
 * every other one scoped to the group (`groupId`), the rest to the whole fleet.
 */
export function benchRules(speeding: number, fenceIds: readonly number[], groupId: number): BenchRule[] {
  const scope = (i: number): AlertScope => (i % 2 === 0 ? { kind: "fleet" } : { kind: "group", groupId });
  const rules: BenchRule[] = [];
  for (let i = 0; i < speeding; i++) {
    // two fire at a fix over 117 or 118 km/h; the others need a run of 5-59 s over 40-119 km/h
    const params =
      i < 2
        ? { limitKmh: 117 + i, minSeconds: 0 }
        : { limitKmh: 40 + ((i * 7) % 80), minSeconds: 5 + (i % 10) * 6 };
    rules.push({ name: `bench speeding ${i + 1}`, kind: "speeding", params, scope: scope(i) });
  }
  fenceIds.forEach((geofenceId, k) => {
    for (const kind of ["geofence_enter", "geofence_exit"] as const)
      rules.push({
        name: `bench ${kind} ${k + 1}`,
        kind,
        params: { geofenceId },
        scope: scope(rules.length),
      });
  });
  return rules;
}

/** Inserts the geofences (one statement); returns their ids in order. */
export async function seedFences(pool: pg.Pool, boxes: readonly Box[]): Promise<number[]> {
  const r = await pool.query<{ id: number }>(
    `INSERT INTO geofences (name, polygon)
     SELECT 'bench fence ' || u.i, ST_MakeEnvelope(u.w, u.s, u.e, u.n, 4326)
     FROM unnest($1::float8[], $2::float8[], $3::float8[], $4::float8[]) WITH ORDINALITY AS u(w, s, e, n, i)
     ORDER BY u.i RETURNING id::float8 AS id`,
    [boxes.map((b) => b[0]), boxes.map((b) => b[1]), boxes.map((b) => b[2]), boxes.map((b) => b[3])],
  );
  return r.rows.map((row) => row.id);
}

/** A vehicle group of `vehicleIds`; returns its id. */
export async function seedGroup(pool: pg.Pool, name: string, vehicleIds: readonly string[]): Promise<number> {
  const g = await pool.query<{ id: number }>(
    "INSERT INTO vehicle_groups (name) VALUES ($1) RETURNING id::float8 AS id",
    [name],
  );
  const id = (g.rows[0] as { id: number }).id;
  await pool.query("INSERT INTO vehicle_group_members (group_id, vehicle_id) SELECT $1, unnest($2::text[])", [
    id,
    vehicleIds,
  ]);
  return id;
}

/** Inserts rules (one statement; the trigger writes their first versions); returns their ids. */
export async function seedRules(
  pool: pg.Pool,
  rules: readonly BenchRule[],
  channelIds: readonly number[] = [],
): Promise<number[]> {
  const r = await pool.query<{ id: number }>(
    `INSERT INTO alert_rules (name, kind, params, scope, channel_ids)
     SELECT u.n, u.k, u.p, u.s, $5::bigint[]
     FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::jsonb[]) WITH ORDINALITY AS u(n, k, p, s, i)
     ORDER BY u.i RETURNING id::float8 AS id`,
    [
      rules.map((x) => x.name),
      rules.map((x) => x.kind),
      rules.map((x) => JSON.stringify(x.params)),
      rules.map((x) => JSON.stringify(x.scope)),
      channelIds,
    ],
  );
  return r.rows.map((row) => row.id);
}

/**
 * The alerts section's geofences and 100 rules (50 speeding, 50 geofence; every other one scoped
 * to a group of every other device) on a pipeline's database: what `bench:profile` and
 * `bench:probe` run with `--alert-rules`.
 */
export async function seedBenchAlertRules(pool: pg.Pool, devices: readonly { id: string }[]): Promise<void> {
  const fenceIds = await seedFences(pool, benchFences());
  const half = devices.filter((_, j) => j % 2 === 0).map((d) => d.id);
  await seedRules(pool, benchRules(50, fenceIds, await seedGroup(pool, "bench half", half)));
}

/** A webhook channel to `url`; returns its id. */
export async function seedWebhookChannel(pool: pg.Pool, url: string, secret: string): Promise<number> {
  const r = await pool.query<{ id: number }>(
    `INSERT INTO notification_channels (name, kind, config, secret)
     VALUES ('bench receiver', 'webhook', $1, $2) RETURNING id::float8 AS id`,
    [JSON.stringify({ url }), secret],
  );
  return (r.rows[0] as { id: number }).id;
}
