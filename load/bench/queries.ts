import type pg from "pg";
import type { QueryRun } from "./results.ts";

const DAY = 86_400_000;

export interface QueryData {
  rows: number;
  vehicles: number;
  /** UTC midnight ten days ago (epoch ms) */
  start: number;
}

/**
 * Loads `rows` synthetic fixes (1,000 vehicles over 10 days) with generate_series, written
 * time-major (every vehicle's fix of one instant, then the next instant) as ingest writes them, so
 * one vehicle's day is spread over the table's pages as in production, not packed together.
 */
export async function loadQueryData(
  pool: pg.Pool,
  rows: number,
  log: (m: string) => void,
): Promise<QueryData> {
  const vehicles = 1000;
  const perVehicle = Math.ceil(rows / vehicles);
  const start =
    Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()) - 10 * DAY;
  const stepMs = Math.floor((10 * DAY) / perVehicle);
  for (let d = 0; d <= 10; d++)
    await pool.query("SELECT ensure_location_partition($1, 'day')", [new Date(start + d * DAY)]);
  log(`  loading ${rows.toLocaleString("en-US")} rows, time-major`);
  const instants = 100;
  for (let g0 = 0; g0 < perVehicle; g0 += instants) {
    await pool.query(
      `INSERT INTO vehicle_locations (vehicle_id, recorded_at, location, speed, heading, received_at)
       SELECT 'q-' || v, timestamptz 'epoch' + ($1::bigint + g::bigint * $2) * interval '1 millisecond',
              ST_SetSRID(ST_MakePoint(55 + random() * 0.6, 24.9 + random() * 0.5), 4326), random() * 120, random() * 360, now()
       FROM generate_series($3::int, $4::int) g, generate_series(0, $5::int - 1) v
       ORDER BY g, v`,
      [start, stepMs, g0, Math.min(perVehicle, g0 + instants) - 1, vehicles],
    );
  }
  await pool.query("ANALYZE vehicle_locations");
  return { rows, vehicles, start };
}

/**
 * Times the two queries the map and history make, `runs` times each: one vehicle's one-day track,
 * and a bbox over one hour of the fleet.
 */
export async function queryLatency(pool: pg.Pool, data: QueryData, runs: number): Promise<QueryRun[]> {
  const { vehicles, start, rows } = data;
  const track = await timeQuery(
    pool,
    runs,
    (i) => [
      `q-${(i * 37) % vehicles}`,
      new Date(start + (1 + (i % 8)) * DAY),
      new Date(start + (2 + (i % 8)) * DAY),
    ],
    `SELECT recorded_at, ST_X(location), ST_Y(location), speed FROM vehicle_locations
      WHERE vehicle_id = $1 AND recorded_at >= $2 AND recorded_at < $3 ORDER BY recorded_at`,
  );
  const bbox = await timeQuery(
    pool,
    runs,
    (i) => [
      new Date(start + (1 + (i % 8)) * DAY + (i % 24) * 3_600_000),
      new Date(start + (1 + (i % 8)) * DAY + ((i % 24) + 1) * 3_600_000),
    ],
    `SELECT vehicle_id, recorded_at FROM vehicle_locations
      WHERE recorded_at >= $1 AND recorded_at < $2 AND location && ST_MakeEnvelope(55.1, 25.0, 55.3, 25.2, 4326)`,
  );
  return [
    { name: "one vehicle, one day track", rows, runs, ...track },
    { name: "bbox over one hour of the fleet", rows, runs, ...bbox },
  ];
}

async function timeQuery(pool: pg.Pool, runs: number, params: (i: number) => unknown[], sql: string) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await pool.query(sql, params(i));
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const pct = (p: number) =>
    times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)] as number;
  return { p50: pct(50), p99: pct(99) };
}
