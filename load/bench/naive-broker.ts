import { createServer } from "node:net";
import { Aedes } from "aedes";
import { createPool } from "../../core/db.ts";
import { toFix } from "../../core/fix.ts";

/**
 * BENCHMARK-ONLY baseline, not a product mode: the seed's "before the queue" design. The broker
 * validates each fix and INSERTs it on its own before the PUBACK: no batching, no queue.
 */
const [portArg, databaseUrl] = process.argv.slice(2);
const pool = createPool(databaseUrl as string, 20);
const INSERT = `INSERT INTO vehicle_locations (vehicle_id, recorded_at, location, speed, heading, received_at)
  VALUES ($1, timestamptz 'epoch' + $2 * interval '1 millisecond', ST_SetSRID(ST_MakePoint($3, $4), 4326), $5, $6, now())
  ON CONFLICT DO NOTHING`;
const window = { retentionMs: 90 * 86_400_000, maxSkewMs: 300_000 };

const aedes = await Aedes.createBroker({
  authorizePublish(client, packet, callback) {
    const vehicleId = packet.topic.split("/")[1] as string;
    let parsed: unknown;
    try {
      parsed = JSON.parse(packet.payload.toString());
    } catch {
      return callback(null);
    }
    const candidates = Array.isArray(parsed) ? parsed : [parsed];
    const now = Date.now();
    const inserts = candidates.map((c) => {
      const r = toFix(c, vehicleId, "naive", now, { now, ...window });
      if (!r.ok) return Promise.resolve();
      const f = r.fix;
      return pool
        .query(INSERT, [f.vehicleId, f.recordedAt, f.lng, f.lat, f.speed ?? null, f.heading ?? null])
        .then(() => {});
    });
    Promise.all(inserts).then(
      () => callback(null),
      (err: Error) => callback(client ? err : null),
    );
  },
});
const server = createServer(aedes.handle);
server.listen(Number(portArg), "127.0.0.1", () => process.stdout.write("ready\n"));
process.on("SIGTERM", () => {
  server.close();
  aedes.close(() => pool.end().then(() => process.exit(0)));
});
