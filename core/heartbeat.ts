import type { Logger } from "./logger.ts";
import type { Redis } from "./redis.ts";

/**
 * The ingest nodes' heartbeat: each broker node (broker/create-broker.ts), or in external-broker
 * mode each bridge (bridge/main.ts), keeps a Redis key `lt:broker:<node>` with a TTL. Present =
 * that node is alive (/health counts them, api/routes/health.ts); the value says how it is doing
 * (scripts/soak.ts and load/bench/probe.ts read the broker's event-loop delay from it).
 */
export const HEARTBEAT_PREFIX = "lt:broker:";
export const HEARTBEAT_INTERVAL_MS = 5_000;
/** three intervals: one late or lost beat does not count a node dead */
export const HEARTBEAT_TTL_MS = 15_000;

/** An embedded broker node's beat. */
export interface BrokerHeartbeat {
  at: number;
  /** MQTT clients connected to this node */
  clients: number;
  /** event-loop delay over the last interval, ms */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** ingest admission (broker/limits/admission.ts) and connects awaiting authentication */
  held: number;
  waiting: number;
  rateDelayed: number;
  pendingAuth: number;
  /** shedding load now (broker/limits/load-shed.ts) */
  shedding: boolean;
}

/** An external-broker bridge's beat. */
export interface BridgeHeartbeat {
  at: number;
  bridge: string;
  /** messages received and not yet acknowledged */
  inflight: number;
}

export type Heartbeat = BrokerHeartbeat | BridgeHeartbeat;

export function isBrokerHeartbeat(beat: Heartbeat): beat is BrokerHeartbeat {
  return "loopDelayP99Ms" in beat;
}

export interface HeartbeatHandle {
  /** writes a beat now, between the intervals (a change /metrics should see before the next one) */
  beat(): void;
  /** no further beats (a beat under way still lands) */
  stop(): void;
  /** deletes the key: the node is gone at once, not after the TTL */
  remove(): Promise<void>;
}

/**
 * Writes `content()` under `lt:broker:<node>` now and every interval, with the TTL. A failed write
 * is logged: the key lapses and /health reports the node down, which is what it looks like.
 */
export function startHeartbeat(opts: {
  redis: Redis;
  node: string;
  log: Logger;
  content: () => Omit<BrokerHeartbeat, "at"> | Omit<BridgeHeartbeat, "at">;
}): HeartbeatHandle {
  const key = `${HEARTBEAT_PREFIX}${opts.node}`;
  const beat = () =>
    opts.redis
      .set(key, JSON.stringify({ at: Date.now(), ...opts.content() }), "PX", HEARTBEAT_TTL_MS)
      .catch((err: unknown) => opts.log.warn({ err }, "heartbeat failed"));
  void beat();
  const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  timer.unref();
  let stopped = false;
  return {
    beat: () => {
      if (!stopped) void beat();
    },
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
    remove: async () => {
      await opts.redis.del(key).catch(() => {});
    },
  };
}

/** The heartbeat keys present now (SCAN, never KEYS: this runs against a busy Redis). */
async function heartbeatKeys(redis: Redis): Promise<string[]> {
  const out: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${HEARTBEAT_PREFIX}*`, "COUNT", 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== "0");
  return out;
}

/** Ingest nodes alive: heartbeat keys not yet expired. */
export async function countHeartbeats(redis: Redis): Promise<number> {
  return (await heartbeatKeys(redis)).length;
}

/** Every live node's last beat (a key that expires between SCAN and GET is left out). */
export async function readHeartbeats(redis: Redis): Promise<Heartbeat[]> {
  const values = await Promise.all((await heartbeatKeys(redis)).map((key) => redis.get(key)));
  const out: Heartbeat[] = [];
  for (const raw of values) {
    if (raw === null) continue;
    try {
      out.push(JSON.parse(raw) as Heartbeat);
    } catch {
      // a value not written by startHeartbeat: not a beat
    }
  }
  return out;
}
