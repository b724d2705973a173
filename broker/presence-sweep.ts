import type pg from "pg";
import type { PresenceMessage } from "../core/events.ts";
import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_PREFIX } from "../core/heartbeat.ts";
import type { Logger } from "../core/logger.ts";
import { channelOf, type Redis, redisKeys } from "../core/redis.ts";
import { END_SESSIONS, presenceKeys } from "./presence.ts";

/** How often a broker node tries to sweep (one node a time sweeps, under a lock of this length). */
export const PRESENCE_SWEEP_MS = 1_000;
/** vehicles judged per sweep: the rest are left due for the next one */
const SWEEP_LIMIT = 1000;

const UNDUE = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0`;

/**
 * The transitions the sessions in Redis (presence.ts) call for, written on the vehicles and in
 * presence_events in one statement per sweep: the UPDATE's condition on the current state lets exactly
 * one sweep make a transition, however many nodes sweep at once, and only the one that made it
 * publishes it. Online: the vehicle holds a session (its `at` is the oldest live session's
 * connect). Offline: it was online and has held no session for the grace, counted from when its
 * last session ended; a session on a node whose heartbeat lapsed (core/heartbeat.ts) ended when
 * that node last beat. A vehicle never seen online is not made offline (a session so short that
 * no sweep saw it is no event).
 */
export async function sweepPresence(deps: {
  pool: pg.Pool;
  redis: Redis;
  graceMs: number;
  now: number;
  log: Logger;
}): Promise<PresenceMessage[]> {
  const { pool, redis, graceMs, now } = deps;
  await endSessionsOfDeadNodes(redis, graceMs, now, deps.log);
  const due = await redis.zrangebyscore(presenceKeys.due, "-inf", now, "WITHSCORES", "LIMIT", 0, SWEEP_LIMIT);
  const out: PresenceMessage[] = [];
  if (due.length === 0) return out;
  // the state of every due vehicle in one round trip, and the due set's updates in one more: a
  // reconnect storm puts thousands of vehicles in the set, and the broker's event loop paid
  // three Redis round trips per vehicle (BENCHMARKS.md, broker profile)
  const reads = redis.pipeline();
  for (let i = 0; i < due.length; i += 2) {
    const vehicleId = due[i] as string;
    reads.hvals(presenceKeys.sessions(vehicleId)).hget(presenceKeys.ended, vehicleId);
  }
  const replies = await execOrThrow(reads);
  const updates = redis.pipeline();
  const changes: { vehicleId: string; online: boolean; at: number }[] = [];
  for (let i = 0; i < due.length; i += 2) {
    const vehicleId = due[i] as string;
    const score = due[i + 1] as string;
    const sessions = replies[i] as string[];
    const ended = replies[i + 1] as string | null;
    if (sessions.length > 0) changes.push({ vehicleId, online: true, at: Math.min(...sessions.map(Number)) });
    else if (ended !== null) {
      const at = Number(ended);
      if (now < at + graceMs) {
        updates.zadd(presenceKeys.due, "GT", at + graceMs, vehicleId);
        continue;
      }
      changes.push({ vehicleId, online: false, at });
    }
    updates.eval(UNDUE, 1, presenceKeys.due, vehicleId, score);
  }
  if (changes.length > 0) {
    // every transition of the sweep in one statement, the events numbered in the sweep's order; two
    // nodes sweeping at once (the lock lapsed) may deadlock on the rows: PostgreSQL aborts one
    // statement, that sweep fails with nothing written, and its vehicles stay due for the next
    const { rows } = await pool.query<{ id: number; vehicle_id: string }>(
      `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::boolean[], $3::timestamptz[]) WITH ORDINALITY AS t(id, online, at, n)
       ), changed AS (
         UPDATE vehicles v SET online = i.online, online_since = CASE WHEN i.online THEN i.at END, last_seen_at = i.at
         FROM input i
         WHERE v.id = i.id AND (CASE WHEN i.online THEN v.online IS NOT TRUE ELSE v.online END)
         RETURNING v.id, i.online, i.at, i.n
       )
       INSERT INTO presence_events (vehicle_id, kind, at)
       SELECT id, CASE WHEN online THEN 'online' ELSE 'offline' END, at FROM changed ORDER BY n
       RETURNING id::float8 AS id, vehicle_id`,
      [changes.map((c) => c.vehicleId), changes.map((c) => c.online), changes.map((c) => new Date(c.at))],
    );
    const made = new Map(rows.map((r) => [r.vehicle_id, r.id]));
    for (const c of changes) {
      const id = made.get(c.vehicleId);
      if (id !== undefined)
        out.push({
          type: "presence",
          id,
          vehicleId: c.vehicleId,
          kind: c.online ? "online" : "offline",
          at: c.at,
        });
    }
  }
  await execOrThrow(updates);
  if (out.length > 0) await redis.publish(channelOf(redis, redisKeys.eventsChannel), JSON.stringify(out));
  return out;
}

/** The replies of a pipeline, in order; the first command's error, if one failed. */
async function execOrThrow(p: ReturnType<Redis["pipeline"]>): Promise<unknown[]> {
  const results = (await p.exec()) ?? [];
  return results.map(([err, reply]) => {
    if (err) throw err;
    return reply;
  });
}

/**
 * Nodes with sessions whose heartbeat key is gone: their sessions end at the node's last beat (or
 * at their connect, if later); the margin lets a node that registered a session before its first
 * beat landed live.
 */
async function endSessionsOfDeadNodes(
  redis: Redis,
  graceMs: number,
  now: number,
  log: Logger,
): Promise<void> {
  const nodes = await redis.hgetall(presenceKeys.nodes);
  for (const [node, seen] of Object.entries(nodes)) {
    const beat = await redis.get(`${HEARTBEAT_PREFIX}${node}`);
    if (beat !== null) {
      const at = beatTime(beat);
      if (Number.isFinite(at) && at > Number(seen)) await redis.hset(presenceKeys.nodes, node, at);
      continue;
    }
    const lastSeen = Number(seen);
    if (now - lastSeen <= HEARTBEAT_INTERVAL_MS) continue;
    const vehicles = await redis.smembers(presenceKeys.node(node));
    for (const v of vehicles)
      await redis.eval(
        END_SESSIONS,
        3,
        presenceKeys.sessions(v),
        presenceKeys.ended,
        presenceKeys.due,
        `${node}|`,
        String(lastSeen),
        v,
        String(graceMs),
      );
    await redis.del(presenceKeys.node(node));
    await redis.hdel(presenceKeys.nodes, node);
    log.info(
      { node, vehicles: vehicles.length },
      "sessions of a broker node gone without closing them ended",
    );
  }
}

/** Sweeps every PRESENCE_SWEEP_MS on whichever node takes the lock first. */
export function startPresenceSweep(deps: {
  pool: pg.Pool;
  redis: Redis;
  graceMs: number;
  node: string;
  log: Logger;
}): { stop(): Promise<void> } {
  let running: Promise<unknown> | null = null;
  const tick = async () => {
    const lock = await deps.redis.set(presenceKeys.sweepLock, deps.node, "PX", PRESENCE_SWEEP_MS, "NX");
    if (lock !== "OK") return;
    const changes = await sweepPresence({ ...deps, now: Date.now() });
    if (changes.length > 0) deps.log.info({ changes: changes.length }, "presence changes");
  };
  const timer = setInterval(() => {
    if (running) return;
    running = tick()
      .catch((err: unknown) => deps.log.warn({ err }, "presence sweep failed"))
      .finally(() => {
        running = null;
      });
  }, PRESENCE_SWEEP_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

function beatTime(raw: string): number {
  try {
    return Number((JSON.parse(raw) as { at?: unknown }).at);
  } catch {
    return Number.NaN;
  }
}
