import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { Fix } from "../../core/fix.ts";
import { insertLocations } from "../../worker/store/insert-locations.ts";

/** Synthetic fixes: `vehicles` vehicles, strictly increasing time per vehicle. */
export function syntheticFixes(n: number, vehicles: number, start = Date.now() - 3_600_000): Fix[] {
  return Array.from({ length: n }, (_, i) => ({
    vehicleId: `raw-${i % vehicles}`,
    recordedAt: start + Math.floor(i / vehicles) * 10,
    lat: 25 + (i % vehicles) * 1e-4,
    lng: 55 + (i % 1000) * 1e-4,
    speed: i % 120,
    heading: i % 360,
    messageId: `raw-${i}`,
    receivedAt: start,
  }));
}

/** Runs `write` over consecutive `batch`-row slices on `parallel` connections; answers rows/s. */
async function inBatches(
  pool: pg.Pool,
  fixes: Fix[],
  batch: number,
  parallel: number,
  write: (client: pg.PoolClient, slice: Fix[]) => Promise<unknown>,
): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      const client = await pool.connect();
      try {
        while (next < fixes.length) {
          const slice = fixes.slice(next, next + batch);
          next += batch;
          await write(client, slice);
        }
      } finally {
        client.release();
      }
    }),
  );
  return fixes.length / ((performance.now() - t0) / 1000);
}

/** The worker's own statement and batch size (unnest, ON CONFLICT DO NOTHING), `parallel` connections. */
export function insertWithWorkerStatement(
  pool: pg.Pool,
  fixes: Fix[],
  batch: number,
  parallel: number,
): Promise<number> {
  return inBatches(pool, fixes, batch, parallel, (client, slice) => insertLocations(client, slice));
}

/** Hex EWKB of a WGS 84 point (little endian, SRID flag): what PostGIS parses fastest in COPY text. */
export function hexEwkbPoint(lng: number, lat: number): string {
  const b = Buffer.alloc(25);
  b.writeUInt8(1, 0);
  b.writeUInt32LE(0x20000001, 1);
  b.writeUInt32LE(4326, 5);
  b.writeDoubleLE(lng, 9);
  b.writeDoubleLE(lat, 17);
  return b.toString("hex");
}

const iso = (t: number) => new Date(t).toISOString();

/** The physical ceiling: plain COPY of hex-EWKB rows in `batch`-row statements (not idempotent). */
export function copyEwkb(pool: pg.Pool, fixes: Fix[], batch: number, parallel: number): Promise<number> {
  return inBatches(pool, fixes, batch, parallel, (client, slice) => {
    const text = slice
      .map(
        (f) =>
          `${f.vehicleId}\t${iso(f.recordedAt)}\t${hexEwkbPoint(f.lng, f.lat)}\t${f.speed}\t${f.heading}\t${iso(f.receivedAt)}\n`,
      )
      .join("");
    const stream = client.query(
      copyFrom(
        "COPY vehicle_locations (vehicle_id, recorded_at, location, speed, heading, received_at) FROM STDIN",
      ),
    );
    return pipeline(Readable.from([text]), stream);
  });
}
