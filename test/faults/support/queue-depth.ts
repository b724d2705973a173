import { createLocationQueues, DEFAULT_QUEUE_PARTITIONS } from "../../../core/queues.ts";
import { createRedis } from "../../../core/redis.ts";

/**
 * Samples the `locations-*` queues' waiting jobs (what QUEUE_ALERT_DEPTH is compared with) every
 * 250 ms on a connection of its own that fails fast while Redis is down, and keeps the maximum.
 */
export function watchQueueDepth(redisUrl: string, partitions = DEFAULT_QUEUE_PARTITIONS) {
  const connection = createRedis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  const queue = createLocationQueues(connection, partitions);
  queue.onError(() => {});
  let max = 0;
  let current = 0;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    queue
      .getWaitingCount()
      .then((n) => {
        current = n;
        max = Math.max(max, n);
      })
      .catch(() => {})
      .finally(() => {
        busy = false;
      });
  }, 250);
  return {
    get current() {
      return current;
    },
    /** the maximum since the last call */
    takeMax(): number {
      const m = Math.max(max, current);
      max = current;
      return m;
    },
    queue,
    async close() {
      clearInterval(timer);
      await queue.close().catch(() => {});
      connection.disconnect();
    },
  };
}
