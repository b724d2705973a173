import type pg from "pg";
import type { Config } from "../../core/config.ts";

/** The settings that decide what is derived from the stored fixes: the worker's and recompute's. */
export const DERIVATION_KEYS = [
  "FLEET_TZ",
  "MOVING_SPEED_KMH",
  "STOP_MIN_SECONDS",
  "TRIP_GAP_SECONDS",
  "TRIP_MIN_DISTANCE_M",
] as const;

export type DerivationSettings = Pick<Config, (typeof DERIVATION_KEYS)[number]>;

export function derivationSettings(config: DerivationSettings): DerivationSettings {
  return Object.fromEntries(DERIVATION_KEYS.map((k) => [k, config[k]])) as DerivationSettings;
}

/**
 * Written by every worker at start (sql/011): the rules the running workers derive with. Replicas
 * run one configuration; the last to start is the one recorded.
 */
export async function recordDerivationSettings(
  pool: pg.Pool,
  config: DerivationSettings,
  recordedBy: string,
): Promise<void> {
  await pool.query(
    `INSERT INTO derivation_settings (settings, recorded_by) VALUES ($1, $2)
     ON CONFLICT (id) DO UPDATE SET settings = EXCLUDED.settings, recorded_at = now(), recorded_by = EXCLUDED.recorded_by`,
    [JSON.stringify(derivationSettings(config)), recordedBy],
  );
}

export interface RecordedSettings {
  settings: DerivationSettings;
  recordedAt: Date;
  recordedBy: string;
}

export async function readDerivationSettings(pool: pg.Pool): Promise<RecordedSettings | null> {
  const r = await pool.query<{ settings: DerivationSettings; recorded_at: Date; recorded_by: string }>(
    "SELECT settings, recorded_at, recorded_by FROM derivation_settings",
  );
  const row = r.rows[0];
  return row ? { settings: row.settings, recordedAt: row.recorded_at, recordedBy: row.recorded_by } : null;
}

/** The keys whose values differ between two sets of settings. */
export function settingsDiff(a: DerivationSettings, b: Partial<DerivationSettings>): string[] {
  return DERIVATION_KEYS.filter((k) => a[k] !== b[k]);
}

export function formatSettings(s: Partial<DerivationSettings>): string {
  return DERIVATION_KEYS.map((k) => `${k}=${s[k] ?? "(unset)"}`).join(" ");
}
