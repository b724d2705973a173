import type pg from "pg";

const DAY = 86_400_000;

export interface Fleet {
  rows: number;
  vehicles: number;
  days: number;
  /** UTC midnight of the first day (epoch ms) */
  start: number;
  /** seconds between two fixes of a vehicle */
  stepS: number;
}

export function fleetOf(rows: number, vehicles: number, days: number): Fleet {
  const today = Math.floor(Date.now() / DAY) * DAY;
  const perVehicle = Math.ceil(rows / vehicles);
  return { rows, vehicles, days, start: today - days * DAY, stepS: (days * 86_400) / perVehicle };
}

/**
 * `rows` synthetic fixes with generate_series, written time-major (every vehicle's fix of one
 * instant, then the next instant) as ingest writes them. Each vehicle repeats a cycle of 100 fixes:
 * 60 driving (20…79 km/h, 0.0004° of longitude a fix, east then back west on the next cycle),
 * 20 idling (ignition on, 0 km/h), 20 parked (ignition off).
 */
export async function loadFleet(pool: pg.Pool, f: Fleet, log: (m: string) => void): Promise<void> {
  for (let d = 0; d <= f.days; d++) {
    await pool.query("SELECT ensure_location_partition($1, 'day')", [new Date(f.start + d * DAY)]);
  }
  const perVehicle = Math.ceil(f.rows / f.vehicles);
  const chunk = Math.ceil(perVehicle / (f.days * 4));
  const t0 = performance.now();
  for (let g0 = 0; g0 < perVehicle; g0 += chunk) {
    await pool.query(
      `INSERT INTO vehicle_locations (vehicle_id, recorded_at, location, speed, heading, ignition, received_at)
       SELECT 'bench-' || v,
              $1::timestamptz + g * $2::float8 * interval '1 second',
              ST_SetSRID(ST_MakePoint(55 + (v % 40) * 0.03
                                        + CASE WHEN (g / 100) % 2 = 0 THEN least(g % 100, 60) ELSE 60 - least(g % 100, 60) END * 0.0004,
                                      24.9 + (v / 40) * 0.02), 4326),
              CASE WHEN g % 100 < 60 THEN 20 + (v + g) % 60 ELSE 0 END,
              90,
              g % 100 < 80,
              $1::timestamptz + g * $2::float8 * interval '1 second' + interval '2 seconds'
       FROM generate_series($3::int, $4::int) g, generate_series(0, $5::int - 1) v
       ORDER BY g, v`,
      [new Date(f.start), f.stepS, g0, Math.min(perVehicle, g0 + chunk) - 1, f.vehicles],
    );
    const done = Math.min(perVehicle, g0 + chunk) * f.vehicles;
    log(
      `  ${done.toLocaleString("en-US")} rows (${Math.round(done / ((performance.now() - t0) / 1000))} rows/s)`,
    );
  }
  await pool.query("ANALYZE vehicle_locations");
}
