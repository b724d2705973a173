import type pg from "pg";

/**
 * A batch's statements in pg's pipeline mode: a statement is written as soon as it is issued, not
 * after the previous one is answered, so statements that do not wait for each other's answers
 * share one round trip. A batch's writes (rows whose answer nothing reads before COMMIT) are
 * issued with `send` or `later` and go out with the next read, or with the COMMIT; the reads a
 * stage needs first are awaited as before. PostgreSQL still runs them in the order written.
 *
 * Every statement of a pipelined block is tracked, for two reasons: the block ends only when all
 * are answered (pg may leave pipeline mode only when the client is idle), and when one fails the
 * statements after it fail too ("current transaction is aborted"), so the error a caller sees
 * must be the first failure in the order they were written: its SQLSTATE is what the caller
 * acts on (a missing partition, a data error to quarantine: process-batch.ts, quarantine.ts).
 */
interface Block {
  /** every statement written, in order */
  sent: Promise<unknown>[];
  /** what `later` still has to run on an answer */
  uses: Promise<unknown>[];
}

const blocks = new WeakMap<pg.ClientBase, Block>();
const ignore = () => {};

/** Runs `fn` with `client` pipelined; settles once every statement issued in it is answered. */
export async function pipelined<T>(client: pg.PoolClient, fn: () => Promise<T>): Promise<T> {
  const mode = client as unknown as { pipeline: boolean; query: pg.PoolClient["query"] };
  const block: Block = { sent: [], uses: [] };
  const query = mode.query;
  const own = Object.hasOwn(mode, "query");
  const socket = socketOf(client);
  let corked = false;
  mode.query = ((...args: Parameters<pg.PoolClient["query"]>) => {
    // statements issued before the code waits go out in one write (below)
    if (socket && !corked) {
      corked = true;
      socket.cork();
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    const p = (query as (...a: unknown[]) => Promise<unknown> | undefined).apply(client, args);
    // a callback-style call returns nothing: its caller hears of its failure
    if (p) {
      p.catch(ignore);
      block.sent.push(p);
    }
    return p;
  }) as pg.PoolClient["query"];
  mode.pipeline = true;
  blocks.set(client, block);
  let out: T | undefined;
  let failure: { err: unknown } | undefined;
  try {
    out = await fn();
  } catch (err) {
    failure = { err };
  }
  // statements are answered in the order written: the first to fail is the cause
  const answers = await Promise.allSettled(block.sent);
  const failed = answers.find((a) => a.status === "rejected");
  if (failed) failure = { err: failed.reason };
  for (const r of await Promise.allSettled(block.uses))
    if (r.status === "rejected" && failure === undefined) failure = { err: r.reason };
  blocks.delete(client);
  mode.pipeline = false;
  if (own) mode.query = query;
  else delete (mode as Partial<typeof mode>).query;
  if (failure !== undefined) throw failure.err;
  return out as T;
}

/**
 * The client's socket, to cork while a stage issues its statements: pg writes each statement as
 * one write of its own (Parse, Bind, Describe, Execute, Sync, corked per statement), so a stage that
 * issues five statements before it awaits one cost five system calls, each waking PostgreSQL. Corked
 * until the next tick, they are one. The uncork runs on process.nextTick, always before Node waits for
 * I/O, so no statement waits unsent for an answer; issued from a promise continuation (as a batch's
 * stages issue theirs) it runs once the continuations queued have run, so a chain of them shares the
 * write, while one issued straight from a timer or an I/O callback may take a second write for what its
 * continuations issue. Absent (a pg without `connection.stream`), nothing is corked.
 */
function socketOf(client: pg.ClientBase): { cork(): void; uncork(): void } | undefined {
  const stream = (client as unknown as { connection?: { stream?: { cork?: unknown; uncork?: unknown } } })
    .connection?.stream;
  return typeof stream?.cork === "function" && typeof stream.uncork === "function"
    ? (stream as { cork(): void; uncork(): void })
    : undefined;
}

/**
 * A statement already issued (`p`, written before the caller's first await) whose answer nothing
 * needs before COMMIT: in a pipelined block it is not waited for here (`use` runs on its answer,
 * before the block ends); elsewhere it is awaited.
 */
export async function later<R>(
  client: pg.ClientBase,
  p: Promise<R>,
  use: (r: R) => void = ignore,
): Promise<void> {
  const block = blocks.get(client);
  if (!block) {
    use(await p);
    return;
  }
  const used = p.then(use);
  used.catch(ignore);
  block.uses.push(used);
}

/** A write whose answer nothing reads: see `later`. */
export function send(client: pg.ClientBase, query: pg.QueryConfig | string): Promise<void> {
  return later(client, client.query(query as pg.QueryConfig));
}

/**
 * Statements that must run in this order but need no answer from each other: on a pipelined
 * client written at once and answered together (one round trip), elsewhere one after the other.
 */
export function inOrder(
  client: pg.ClientBase,
  queries: readonly pg.QueryConfig[],
): Promise<pg.QueryResult[]> {
  if (blocks.has(client)) return Promise.all(queries.map((q) => client.query(q)));
  return (async () => {
    const out: pg.QueryResult[] = [];
    for (const q of queries) out.push(await client.query(q));
    return out;
  })();
}

/**
 * A read whose answer is needed later: on a pipelined client it is written now (sharing the round
 * trip of whatever is awaited next), elsewhere when first asked for. `read` must write its
 * statement before its first await.
 */
export function ahead<T>(client: pg.ClientBase, read: () => Promise<T>): () => Promise<T> {
  if (!blocks.has(client)) {
    let started: Promise<T> | undefined;
    return () => {
      started ??= read();
      return started;
    };
  }
  const p = read();
  p.catch(ignore);
  return () => p;
}
