import { createHash } from "node:crypto";
import type { Aedes, Client } from "aedes";
import type { Logger } from "../core/logger.ts";
import type { Redis } from "../core/redis.ts";
import { getIdentity } from "./identity.ts";

/**
 * The MQTT sessions of each vehicle, over every broker node, in Redis. A vehicle is online while
 * it holds at least one session on any node: counting sessions, not remembering "the last event",
 * is what keeps a vehicle that moved to node B online when node A sees its old session end, and a
 * vehicle with two sessions (two client ids) online when one of them closes.
 *
 * - `sessions(v)`: hash, one field per live session (`<node>|<n>|`, unique per connection) → its
 *   connect time (ms).
 * - `ended`: hash vehicle → when its last session ended (its sessions hash became empty).
 * - `due`: sorted set vehicle → when the presence sweep (presence-sweep.ts) should look at it: at
 *   once after a connect, after the grace after the last session ended.
 * - `node(n)` and `nodes`: the vehicles with sessions on node n, and the nodes with sessions (→ the
 *   last time the sweep saw their heartbeat), so that the sessions of a node that died without
 *   closing them (SIGKILL, power loss) are ended by the sweep once its heartbeat lapses.
 *
 * Every change is one Lua script: a connect and a disconnect racing on two nodes leave the hash
 * as both happened.
 */
export const presenceKeys = {
  sessions: (vehicleId: string) => `lt:presence:s:${vehicleId}`,
  ended: "lt:presence:ended",
  due: "lt:presence:due",
  node: (node: string) => `lt:presence:n:${node}`,
  nodes: "lt:presence:nodes",
  sweepLock: "lt:presence:sweep",
};

const CONNECT = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('HSETNX', KEYS[5], ARGV[4], ARGV[2])
return 1`;

/**
 * Removes the session fields starting with ARGV[1]; if none is left, the vehicle's last session
 * ended at ARGV[2] (or at the newest removed session's connect, if later) and is due a grace
 * (ARGV[4], ms) after.
 */
export const END_SESSIONS = `
local removed = 0
local ended = tonumber(ARGV[2])
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, string.len(ARGV[1])) == ARGV[1] then
    ended = math.max(ended, tonumber(redis.call('HGET', KEYS[1], f)))
    redis.call('HDEL', KEYS[1], f)
    removed = removed + 1
  end
end
if removed > 0 and redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[2], ARGV[3], ended)
  redis.call('ZADD', KEYS[3], ended + tonumber(ARGV[4]), ARGV[3])
end
return removed`;

export interface PresenceTracker {
  /** waits for the session writes under way (the broker closes its Redis connection after) */
  flush(): Promise<void>;
}

/** how long a session write waits for others to go out with it */
const PRESENCE_WRITE_MS = 10;
/** a write Redis did not take (its connection closed under it) is sent again, up to this often */
const PRESENCE_WRITE_ATTEMPTS = 5;

const SCRIPTS = {
  connect: { lua: CONNECT, sha: createHash("sha1").update(CONNECT).digest("hex"), keys: 5 },
  end: { lua: END_SESSIONS, sha: createHash("sha1").update(END_SESSIONS).digest("hex"), keys: 3 },
};

/** a session write: which script, its keys then its arguments, and what it was, for the log */
interface PresenceWrite {
  script: keyof typeof SCRIPTS;
  args: string[];
  what: { vehicleId: string; event: "connect" | "disconnect" };
  attempts: number;
}

/**
 * Aedes "client" (a session registered, after CONNACK) and "clientDisconnect" (DISCONNECT, a
 * dropped socket, keepalive expiry, a revoked credential, a session taken over by a new CONNECT
 * with its client id, the broker closing): the device sessions of this node, kept in Redis.
 *
 * The writes of 10 ms (PRESENCE_WRITE_MS) go out together as one pipeline, in the order the events
 * came: each script's text once (EVAL), its other writes by hash (EVALSHA), so Redis has the script
 * before they run whatever it forgot (a restart, SCRIPT FLUSH) and nothing is resent out of order.
 * One pipeline at a time: the writes of one Redis did not take (its connection closed under it)
 * go first into the next. A write per event, each its own socket write, was a large share of the
 * broker's CPU per CONNECT in a reconnect storm, and Aedes registers each client in a turn of its
 * own, so gathering per turn saved little (BENCHMARKS.md, "The first seconds after a pause"). Ten
 * ms are nothing beside the grace a session's end waits (PRESENCE_GRACE_S), and each write carries
 * the time of its event.
 */
export function trackPresence(deps: {
  aedes: Aedes;
  redis: Redis;
  graceMs: number;
  log: Logger;
}): PresenceTracker {
  const { aedes, redis, log } = deps;
  const node = aedes.id;
  const fields = new WeakMap<Client, { vehicleId: string; field: string }>();
  let queued: PresenceWrite[] = [];
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> | undefined;
  let seq = 0;

  const sendBatch = async (writes: PresenceWrite[]): Promise<PresenceWrite[]> => {
    const p = redis.pipeline();
    const loaded = new Set<keyof typeof SCRIPTS>();
    for (const w of writes) {
      const s = SCRIPTS[w.script];
      if (loaded.has(w.script)) p.evalsha(s.sha, s.keys, ...w.args);
      else {
        loaded.add(w.script);
        p.eval(s.lua, s.keys, ...w.args);
      }
    }
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await p.exec();
    } catch (err) {
      replies = writes.map(() => [err as Error, null]);
    }
    const again: PresenceWrite[] = [];
    writes.forEach((w, i) => {
      const err = replies?.[i]?.[0] ?? (replies ? null : new Error("no reply"));
      if (!err) return;
      if (++w.attempts < PRESENCE_WRITE_ATTEMPTS) again.push(w);
      else log.warn({ err, ...w.what }, "presence not recorded");
    });
    return again;
  };
  // sends what is queued, one pipeline at a time, the writes to send again ahead of newer ones
  const send = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    sending ??= (async () => {
      while (queued.length > 0) {
        const writes = queued;
        queued = [];
        const again = await sendBatch(writes);
        if (again.length > 0) queued = again.concat(queued);
        // what came meanwhile is gathered as a first write is (a write to send again waits longer):
        // sent at once, a storm's pipelines held the round trip's few writes, each with the text
        if (queued.length > 0)
          await new Promise((r) => setTimeout(r, again.length > 0 ? 100 : PRESENCE_WRITE_MS));
      }
    })().finally(() => {
      sending = undefined;
    });
    return sending;
  };
  const write = (w: Omit<PresenceWrite, "attempts">) => {
    queued.push({ ...w, attempts: 0 });
    if (!timer && !sending) timer = setTimeout(send, PRESENCE_WRITE_MS);
  };

  aedes.on("client", (client) => {
    const identity = getIdentity(client);
    if (identity?.kind !== "device") return;
    const field = `${node}|${(seq++).toString(36)}|`;
    fields.set(client, { vehicleId: identity.vehicleId, field });
    const v = identity.vehicleId;
    write({
      script: "connect",
      args: [
        presenceKeys.sessions(v),
        presenceKeys.ended,
        presenceKeys.due,
        presenceKeys.node(node),
        presenceKeys.nodes,
        field,
        String(Date.now()),
        v,
        node,
      ],
      what: { vehicleId: v, event: "connect" },
    });
  });

  aedes.on("clientDisconnect", (client) => {
    const session = fields.get(client);
    if (!session) return;
    fields.delete(client);
    write({
      script: "end",
      args: [
        presenceKeys.sessions(session.vehicleId),
        presenceKeys.ended,
        presenceKeys.due,
        session.field,
        String(Date.now()),
        session.vehicleId,
        String(deps.graceMs),
      ],
      what: { vehicleId: session.vehicleId, event: "disconnect" },
    });
  });

  return {
    async flush() {
      // what an earlier pipeline left, then what is queued
      await sending;
      await send();
    },
  };
}
