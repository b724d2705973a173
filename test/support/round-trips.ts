import type pg from "pg";
import type { Redis } from "../../core/redis.ts";

/**
 * Counts the round trips a piece of code makes to PostgreSQL and Redis, by wrapping the pool's
 * clients and the Redis connection it is given (restore() undoes it).
 * - PostgreSQL: a statement sent while the client waits for nothing starts a round trip; one sent
 *   while others are in flight on a pipelined client (pg's `pipeline`) rides along with them. On a
 *   client that is not pipelined every statement is a round trip of its own (pg queues it until
 *   the previous one is answered). pool.query goes through a client too.
 * - Redis: a direct command is a round trip; a pipeline or MULTI is one, whatever it holds.
 * - `pgWrites`: the writes to the client's socket (each a system call that wakes PostgreSQL), by
 *   wrapping the socket's _write and _writev.
 */
export interface RoundTrips {
  pg: number;
  statements: number;
  pgWrites: number;
  redis: number;
  redisCommands: number;
}

export function countRoundTrips(
  pool: pg.Pool,
  redis: Redis,
): { counts: RoundTrips; reset(): void; restore(): void } {
  const counts: RoundTrips = { pg: 0, statements: 0, pgWrites: 0, redis: 0, redisCommands: 0 };
  const wrapped = new WeakSet<object>();
  const originals: (() => void)[] = [];
  const patch = <T extends object, K extends keyof T>(obj: T, key: K, value: T[K]) => {
    const own = Object.hasOwn(obj, key);
    const before = obj[key];
    obj[key] = value;
    originals.push(() => {
      if (own) obj[key] = before;
      else delete obj[key];
    });
  };

  const wrapClient = (client: pg.PoolClient) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const socket = (client as unknown as { connection: { stream: Record<"_write" | "_writev", unknown> } })
      .connection.stream;
    for (const key of ["_write", "_writev"] as const) {
      const write = socket[key] as (...a: unknown[]) => unknown;
      patch(socket, key, function (this: unknown, ...a: unknown[]) {
        counts.pgWrites++;
        return write.apply(this, a);
      });
    }
    let inFlight = 0;
    const query = client.query.bind(client) as (...a: unknown[]) => Promise<unknown> | undefined;
    patch(client, "query", ((...args: unknown[]) => {
      counts.statements++;
      if (inFlight === 0 || !(client as { pipeline?: boolean }).pipeline) counts.pg++;
      inFlight++;
      const done = () => {
        inFlight--;
      };
      // pool.query calls it with a callback (and gets no promise)
      const cb = args.findIndex((a) => typeof a === "function");
      if (cb >= 0) {
        const callback = args[cb] as (...r: unknown[]) => void;
        args[cb] = (...r: unknown[]) => {
          done();
          callback(...r);
        };
      }
      const p = query(...args);
      p?.then(done, done);
      return p;
    }) as pg.PoolClient["query"]);
  };
  const connect = pool.connect.bind(pool) as (cb?: (...r: unknown[]) => void) => Promise<pg.PoolClient>;
  patch(pool, "connect", ((cb?: (err: unknown, client?: pg.PoolClient, release?: unknown) => void) => {
    if (cb)
      return connect((err, client, release) => {
        if (client) wrapClient(client as pg.PoolClient);
        cb(err, client as pg.PoolClient, release);
      });
    return connect().then((client) => {
      wrapClient(client);
      return client;
    });
  }) as pg.Pool["connect"]);
  const sendCommand = redis.sendCommand.bind(redis);
  patch(redis, "sendCommand", ((...args: Parameters<Redis["sendCommand"]>) => {
    // a pipeline's commands come with the pipeline's stream: counted by exec below
    if (args[1] === undefined) {
      counts.redis++;
      counts.redisCommands++;
    }
    return sendCommand(...args);
  }) as Redis["sendCommand"]);
  for (const kind of ["pipeline", "multi"] as const) {
    const make = (redis[kind] as (...a: unknown[]) => ReturnType<Redis["pipeline"]>).bind(redis);
    patch(redis, kind, ((...args: unknown[]) => {
      const p = make(...args);
      const exec = p.exec.bind(p);
      p.exec = (...a: Parameters<typeof exec>) => {
        counts.redis++;
        counts.redisCommands += p.length;
        return exec(...a);
      };
      return p;
    }) as Redis[typeof kind]);
  }

  return {
    counts,
    reset() {
      counts.pg = 0;
      counts.statements = 0;
      counts.pgWrites = 0;
      counts.redis = 0;
      counts.redisCommands = 0;
    },
    restore() {
      for (const undo of originals.reverse()) undo();
    },
  };
}
