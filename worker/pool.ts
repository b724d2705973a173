import { createPool, type Pool } from "../core/db.ts";

/**
 * The worker's PostgreSQL pool: a connection per job slot (partitions × concurrency), two for
 * housekeeping, two for notifications. The job slots' connections stay open while the queue is
 * idle: a batch on a connection PostgreSQL has just started waits for the backend's warm-up
 * (PostGIS loaded, the catalogs read, every named statement parsed and planned), and after a quiet
 * spell (a fleet parked, a cellular outage) every partition's first batch paid it at once, on the
 * busiest second: the one in which the devices come back (BENCHMARKS.md, "The first seconds after a
 * pause").
 */
export function createWorkerPool(
  o: { DATABASE_URL: string; QUEUE_PARTITIONS: number; WORKER_CONCURRENCY: number },
  /** how long the connections above the job slots' may idle (core/db.ts's default) */
  idleTimeoutMs?: number,
): Pool {
  const slots = o.QUEUE_PARTITIONS * o.WORKER_CONCURRENCY;
  return createPool(o.DATABASE_URL, slots + 4, {
    keepOpen: slots,
    ...(idleTimeoutMs !== undefined ? { idleTimeoutMs } : {}),
  });
}
