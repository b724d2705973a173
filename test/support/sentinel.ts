import { topics } from "../../core/topics.ts";
import type { DeviceCredentials } from "../../core/vehicles.ts";
import type { TestPlatform } from "./platform.ts";
import { waitFor } from "./wait.ts";

let sent = 0;

/**
 * The positive marker behind "nothing was stored": `sentinel` (a device of the test's own)
 * publishes one valid fix at QoS 1, and this waits until that fix is in PostgreSQL and the queue
 * holds no job. The bridge queues batches in the order their messages reached it and a PUBACK
 * follows the queueing, so by then whatever the broker let through before the sentinel has been
 * stored or rejected: a count of zero after this means none, not "not yet".
 */
export async function storeSentinel(p: TestPlatform, sentinel: DeviceCredentials): Promise<void> {
  const recordedAt = Date.now() - 1000 - sent++;
  const client = await p.connect(sentinel);
  await client.publishAsync(topics.location(sentinel.id), JSON.stringify({ lat: 1, lng: 1, recordedAt }), {
    qos: 1,
  });
  await client.endAsync();
  await waitFor(
    async () =>
      (
        await p.pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM vehicle_locations WHERE vehicle_id = $1 AND recorded_at = $2",
          [sentinel.id, new Date(recordedAt)],
        )
      ).rows[0]?.n,
    (n) => n === 1,
    { what: "the sentinel fix stored" },
  );
  await waitFor(
    () => p.queue.getJobCounts("waiting", "active", "delayed", "prioritized"),
    (counts) => Object.values(counts).every((n) => n === 0),
    { what: "no job left in the queue" },
  );
}

/** Fixes and rejects stored for anyone but `sentinel`. */
export async function storedBesides(
  p: TestPlatform,
  sentinel: DeviceCredentials,
): Promise<{ fixes: number; rejects: number }> {
  const r = await p.pool.query<{ fixes: number; rejects: number }>(
    `SELECT (SELECT count(*)::int FROM vehicle_locations WHERE vehicle_id <> $1) AS fixes,
            (SELECT count(*)::int FROM rejected_messages WHERE vehicle_id <> $1) AS rejects`,
    [sentinel.id],
  );
  return r.rows[0] as { fixes: number; rejects: number };
}
