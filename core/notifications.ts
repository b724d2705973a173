import { randomUUID } from "node:crypto";
import { type DefaultJobOptions, Queue } from "bullmq";
import type pg from "pg";
import type { AlertMessage } from "./alerts.ts";
import type { Redis } from "./redis.ts";

/**
 * The notifications queue: alerts (core/alerts.ts) and "send test" messages to notification
 * channels, delivered by the worker (worker/notify/).
 *
 * Order per vehicle per channel: each (channel, vehicle) has a lane, a Redis list of its messages
 * in the order they were announced. A BullMQ job is added per message, but a job only drains a
 * lane: the first to take the lane's owner key delivers from its head, one message at a time, and
 * when the head fails it keeps the lane and waits (moved to delayed) for its backoff; the others
 * find the lane owned and complete at once, their message being in the list the owner drains. So
 * a later alert never overtakes an earlier one that is still retrying, while other lanes go on
 * (BullMQ groups would do this but are BullMQ Pro; one job per message with a global concurrency
 * of 1 would let one dead receiver hold back every channel).
 *
 * Exactly-once enqueue: a message is pushed with its delivery id (`a<alert>-<phase>-c<channel>`)
 * marked seen in the same Lua call, so the same alert phase enqueued twice (a retried batch) is
 * delivered once. Delivery itself is at least once (a worker killed after the receiver answered
 * but before the lane advanced sends it again): receivers dedupe on X-Logitrack-Delivery.
 */
export const NOTIFICATIONS_QUEUE = "notifications";
/** how long a delivery id is remembered against a second enqueue */
export const SEEN_TTL_S = 30 * 24 * 3600;
/** the lane of "send test" messages (not a vehicle id: those match [A-Za-z0-9_-]) */
export const TEST_LANE = "~test";

/** The hook the worker calls after each batch with the alert phases it announced. */
export type AlertNotifier = (items: { alert: AlertMessage; channelIds: number[] }[]) => Promise<void>;

export interface TestMessage {
  type: "test";
  channelId: number;
  deliveryId: string;
  sentAt: string;
  message: string;
}

export type NotificationMessage = AlertMessage | TestMessage;

/** One message to one channel, waiting in its lane. */
export interface LaneEntry {
  deliveryId: string;
  channelId: number;
  alertId: number | null;
  phase: "start" | "end" | "test";
  message: NotificationMessage;
  enqueuedAt: number;
}

/** A BullMQ job: "drain this lane". */
export interface DrainJob {
  channelId: number;
  lane: string;
}

/** Redis keys of a lane, beside (not inside) BullMQ's keys under the same prefix. */
export function laneKeys(prefix: string, channelId: number, lane: string) {
  const base = `${prefix}:${NOTIFICATIONS_QUEUE}-lanes`;
  return {
    list: `${base}:list:${channelId}:${lane}`,
    owner: `${base}:owner:${channelId}:${lane}`,
  };
}

export function seenKey(prefix: string, deliveryId: string): string {
  return `${prefix}:${NOTIFICATIONS_QUEUE}-lanes:seen:${deliveryId}`;
}

export function attemptsKey(prefix: string, deliveryId: string): string {
  return `${prefix}:${NOTIFICATIONS_QUEUE}-lanes:attempts:${deliveryId}`;
}

export const alertDeliveryId = (alert: Pick<AlertMessage, "id" | "phase">, channelId: number) =>
  `a${alert.id}-${alert.phase}-c${channelId}`;

/**
 * A drain job fails only on an unexpected error (PostgreSQL down while logging an attempt): it is
 * retried like a batch (capped backoff, worker/notify/); receiver failures are retried in place.
 */
export const NOTIFY_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 10_000,
  backoff: { type: "capped" },
  // removed at once: a job id is a delivery id, and a retained one would swallow a later add
  removeOnComplete: true,
  removeOnFail: { count: 10_000 },
};

// pushes a message unless its delivery id was seen; atomically, so two enqueues push it once
const ENQUEUE = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  return 1
end
return 0`;

export class NotificationQueue {
  readonly queue: Queue<DrainJob>;

  constructor(
    private readonly connection: Redis,
    readonly prefix = "bull",
  ) {
    this.queue = new Queue<DrainJob>(NOTIFICATIONS_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: NOTIFY_JOB_OPTIONS,
    });
  }

  /**
   * Queues messages, each lane's in the order given; returns how many were new. The job is added
   * even for a message seen before: if an earlier call pushed it and then failed before its add,
   * the retried call still gets its lane drained (an add for a job that exists is ignored).
   */
  async enqueue(entries: LaneEntry[]): Promise<number> {
    let added = 0;
    for (const e of entries) {
      const lane = laneKeys(this.prefix, e.channelId, laneOf(e));
      added += Number(
        await this.connection.eval(
          ENQUEUE,
          2,
          seenKey(this.prefix, e.deliveryId),
          lane.list,
          JSON.stringify(e),
          SEEN_TTL_S,
        ),
      );
    }
    await Promise.all(
      entries.map((e) =>
        this.queue.add("drain", { channelId: e.channelId, lane: laneOf(e) }, { jobId: e.deliveryId }),
      ),
    );
    return added;
  }

  /** "Send test": a test message to one channel; resolves with its delivery id. */
  async enqueueTest(channelId: number): Promise<string> {
    const deliveryId = `t${randomUUID()}-c${channelId}`;
    const message: TestMessage = {
      type: "test",
      channelId,
      deliveryId,
      sentAt: new Date().toISOString(),
      message: "Logitrack test notification: this channel works.",
    };
    await this.enqueue([
      { deliveryId, channelId, alertId: null, phase: "test", message, enqueuedAt: Date.now() },
    ]);
    return deliveryId;
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

function laneOf(e: LaneEntry): string {
  return e.message.type === "alert" ? e.message.vehicleId : TEST_LANE;
}

/**
 * The AlertNotifier the worker plugs in: each alert phase to each enabled channel of its rule,
 * in the order given (a vehicle's phases in event order).
 */
export function createAlertNotifier(deps: { queue: NotificationQueue; pool: pg.Pool }): AlertNotifier {
  return async (items) => {
    const ids = [...new Set(items.flatMap((i) => i.channelIds))];
    if (ids.length === 0) return;
    const r = await deps.pool.query<{ id: string }>(
      "SELECT id FROM notification_channels WHERE id = ANY($1::bigint[]) AND enabled",
      [ids],
    );
    const enabled = new Set(r.rows.map((row) => Number(row.id)));
    const now = Date.now();
    // a retraction goes to /ws and MQTT only: no one was told of a start it could take back
    const entries = items.flatMap(({ alert, channelIds }) =>
      (alert.phase === "retracted" ? [] : [...new Set(channelIds)])
        .filter((c) => enabled.has(c))
        .map(
          (channelId): LaneEntry => ({
            deliveryId: alertDeliveryId(alert, channelId),
            channelId,
            alertId: alert.id,
            phase: alert.phase as "start" | "end",
            message: alert,
            enqueuedAt: now,
          }),
        ),
    );
    await deps.queue.enqueue(entries);
  };
}
