import type { Result } from "ioredis";
import type { BatchJob } from "../core/queues.ts";
import type { Redis } from "../core/redis.ts";
import type { BatchPart } from "./batch-context.ts";

/**
 * Jobs of one partition that queue up while the worker is busy, committed together: with the
 * partition's BullMQ global concurrency of 1 (create-worker.ts), no worker can take another job
 * of the queue while job J is active, so J's processor reads the oldest waiting jobs behind it
 * (state `wait` only: a delayed retry is not among them), commits J and them as one batch in one
 * transaction (process-batch.ts, processBatches) and then marks them committed. The batch grows
 * with the backlog instead of the queue.
 *
 * The marked jobs are not removed: each still becomes active in its turn and completes at once
 * (its `progress` names the job it was committed with), so `completed` events, results, the
 * completed history and the job ids the bridge logs stay as they were, for the price of BullMQ's
 * own round trip per job and none to PostgreSQL. A worker that dies between COMMIT and the mark
 * leaves them unmarked: they are committed again, which changes nothing (every statement of a
 * batch is idempotent, and dead-letter rows are keyed by each job's own id, stages.ts).
 *
 * The scripts use BullMQ's key layout (`{prefix}:{queue}:wait`, `:meta`, `:{jobId}`), as
 * create-worker.ts's stray-queue scan does.
 */

/**
 * Waiting jobs, oldest first, from the `ARGV[2]`-th oldest: at most `ARGV[3]` of them and about
 * `ARGV[4]` bytes of data. Answers how many ids it went through, then id, data, progress of each
 * job still there; nothing while the queue is paused. The oldest job is at the list's right end
 * (BullMQ pushes new jobs on the left), so positions counted from there hold while jobs are added.
 */
const READ_WAITING = `
if redis.call("HEXISTS", KEYS[2], "paused") == 1 then return {0} end
local from = tonumber(ARGV[2])
local ids = redis.call("LRANGE", KEYS[1], -(from + tonumber(ARGV[3])), -(from + 1))
local out = {0}
local bytes = 0
for i = #ids, 1, -1 do
  out[1] = out[1] + 1
  local h = redis.call("HMGET", ARGV[1] .. ids[i], "data", "progress")
  if h[1] then
    out[#out + 1] = ids[i]
    out[#out + 1] = h[1]
    out[#out + 1] = h[2] or ""
    bytes = bytes + #h[1]
    if bytes >= tonumber(ARGV[4]) then break end
  end
end
return out`;

/** Sets `progress` of the jobs ARGV[3..] that still exist to ARGV[2]. */
const MARK_COMMITTED = `
for i = 3, #ARGV do
  local key = ARGV[1] .. ARGV[i]
  if redis.call("EXISTS", key) == 1 then redis.call("HSET", key, "progress", ARGV[2]) end
end
return 0`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    coalesceReadWaiting(...keysAndArgs: (string | number)[]): Result<[number, ...string[]], Context>;
    coalesceMarkCommitted(...args: string[]): Result<number, Context>;
  }
}

/** The scripts on `redis`: ioredis then sends EVALSHA (the hash), the text only when Redis lacks the script. */
function withScripts(redis: Redis): Redis {
  if (!Object.hasOwn(redis, "coalesceReadWaiting")) {
    redis.defineCommand("coalesceReadWaiting", { numberOfKeys: 2, lua: READ_WAITING });
    redis.defineCommand("coalesceMarkCommitted", { numberOfKeys: 0, lua: MARK_COMMITTED });
  }
  return redis;
}

/** What a committed job's `progress` holds. */
interface CommittedMark {
  committedWith: string;
}

/** The id of the job whose transaction committed this job's batch, from its `progress`; undefined if none did. */
export function committedWith(progress: unknown): string | undefined {
  const id = (progress as Partial<CommittedMark> | null | undefined)?.committedWith;
  return typeof id === "string" ? id : undefined;
}

const items = (job: BatchJob) => job.fixes.length + job.rejects.length;

/** Most jobs read per look at the queue, and looks per batch. */
const MAX_READ = 200;
const MAX_LOOKS = 10;
/** Bytes of job data read per fix or reject still to fit (a fix is ~160 bytes of JSON): the rest on a next look. */
const BYTES_PER_ITEM = 200;

/**
 * Job `lead` and the jobs waiting behind it that fit with it under `maxItems` fixes and rejects,
 * in queue order. It stops at the first one that does not fit (or cannot be read): taking a
 * later one would commit a vehicle's newer fixes before older ones. Jobs already committed by an
 * earlier batch are passed over.
 */
export async function takeWaiting(
  redis: Redis,
  queue: { prefix: string; name: string },
  lead: BatchPart,
  maxItems: number,
): Promise<BatchPart[]> {
  const parts = [lead];
  let room = maxItems - items(lead.job);
  const base = `${queue.prefix}:${queue.name}:`;
  let from = 0;
  // jobs of a backlog are alike in size (the bridge seals batches by size or age): each look
  // reads about as many as fit, plus one to see where the cap falls
  let perJob = Math.max(1, items(lead.job));
  for (let look = 0; look < MAX_LOOKS && room > 0; look++) {
    const want = Math.min(MAX_READ, Math.ceil(room / perJob) + 1);
    const budget = room * BYTES_PER_ITEM;
    const [seen, ...raw] = await withScripts(redis).coalesceReadWaiting(
      `${base}wait`,
      `${base}meta`,
      base,
      from,
      want,
      budget,
    );
    if (!seen) break;
    from += seen;
    let bytes = 0;
    for (let i = 0; i + 2 < raw.length; i += 3) {
      bytes += (raw[i + 1] as string).length;
      const progress = raw[i + 2] ? parse(raw[i + 2] as string) : undefined;
      if (committedWith(progress) !== undefined) continue;
      const job = parse(raw[i + 1] as string) as BatchJob | undefined;
      if (!Array.isArray(job?.fixes) || !Array.isArray(job?.rejects)) return parts;
      room -= items(job);
      if (room < 0) return parts;
      parts.push({ id: raw[i] as string, job });
    }
    // the list ended before the look's count or bytes did: nothing more waits
    if (seen < want && bytes < budget) break;
    perJob = Math.max(1, (maxItems - room) / parts.length);
  }
  return parts;
}

/** Marks jobs committed in `leadId`'s transaction: when each becomes active it completes at once. */
export async function markCommitted(
  redis: Redis,
  queue: { prefix: string; name: string },
  leadId: string,
  ids: readonly string[],
): Promise<void> {
  if (ids.length === 0) return;
  const mark: CommittedMark = { committedWith: leadId };
  await withScripts(redis).coalesceMarkCommitted(
    `${queue.prefix}:${queue.name}:`,
    JSON.stringify(mark),
    ...ids,
  );
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
