import type { Queue } from "bullmq";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type pg from "pg";
import type { Logger } from "../core/logger.ts";
import type { BatchJob } from "../core/queues.ts";
import { type Redis, redisKeys } from "../core/redis.ts";

export interface AppDeps {
  pool: pg.Pool;
  redis: Redis;
  queue: Queue<BatchJob>;
  log: Logger;
}

/** Builds the HTTP app; never listens (main.ts does, tests use inject or their own port). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.log as FastifyBaseLogger });

  app.get("/health", async (_req, reply) => {
    const checks = await Promise.all([
      check("postgres", async () => {
        await deps.pool.query("SELECT 1");
        return "up";
      }),
      check("redis", async () => {
        await deps.redis.ping();
        return "up";
      }),
      check("broker", async () => {
        const keys = await deps.redis.keys(`${redisKeys.brokerHeartbeat}*`);
        if (keys.length === 0) throw new Error("no broker heartbeat");
        return `${keys.length} node(s)`;
      }),
      check("queue", async () => {
        const counts = await deps.queue.getJobCounts("waiting", "active", "failed");
        return counts;
      }),
    ]);
    const ok = checks.every((c) => c.ok);
    return reply
      .code(ok ? 200 : 503)
      .send({ status: ok ? "ok" : "degraded", checks: Object.fromEntries(checks.map((c) => [c.name, c])) });
  });

  return app;
}

async function check(
  name: string,
  fn: () => Promise<unknown>,
): Promise<{ name: string; ok: boolean; detail: unknown }> {
  try {
    const detail = await withTimeout(fn(), 2000);
    return { name, ok: true, detail };
  } catch (err) {
    return { name, ok: false, detail: (err as Error).message };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
