import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import { countHeartbeats } from "../../core/heartbeat.ts";
import type { LocationQueues } from "../../core/queues.ts";
import type { Redis } from "../../core/redis.ts";
import type { BackpressureMonitor } from "../backpressure.ts";
import { createMetrics, type MetricsDeps } from "../metrics.ts";
import { authenticate } from "../plugins/auth.ts";
import { withTimeout } from "../with-timeout.ts";

const checkSchema = z.object({ ok: z.boolean(), detail: z.unknown() });
const healthSchema = z.object({
  status: z.enum(["ok", "degraded"]),
  checks: z
    .object({ postgres: checkSchema, redis: checkSchema, broker: checkSchema, queue: checkSchema })
    .optional()
    .describe("each dependency's state and error text: for admins only"),
});

export interface HealthDeps extends MetricsDeps {
  pool: pg.Pool;
  redis: Redis;
  queue: LocationQueues;
  backpressure: BackpressureMonitor;
  metricsPublic: boolean;
  /** a Bearer secret /metrics also accepts (METRICS_TOKEN) */
  metricsToken: string | undefined;
  /** SESSION_IDLE_MINUTES, to tell an admin's session apart */
  sessionIdleMinutes: number;
}

async function check(fn: () => Promise<unknown>): Promise<{ ok: boolean; detail: unknown }> {
  try {
    return { ok: true, detail: await withTimeout(fn(), 2000) };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
}

/**
 * /health (open): PostgreSQL, Redis, a broker heartbeat and the queue; 503 when one is down.
 * A deep queue is reported (backpressure) but is not "down": the API still serves. Anyone gets the
 * status (what load balancers and container health checks need); the checks, whose error text
 * names hosts and internals, only an admin.
 * /metrics: Prometheus text for a viewer, an admin or METRICS_TOKEN; open when METRICS_PUBLIC=true.
 */
export function healthRoutes(deps: HealthDeps): FastifyPluginAsyncZod {
  const metrics = createMetrics(deps);
  return async (app) => {
    app.get(
      "/health",
      {
        config: { access: "public" },
        schema: { tags: ["operations"], response: { 200: healthSchema, 503: healthSchema } },
      },
      async (req, reply) => {
        const [postgres, redis, broker, queue] = await Promise.all([
          check(async () => {
            await deps.pool.query("SELECT 1");
            return "up";
          }),
          check(async () => {
            await deps.redis.ping();
            return "up";
          }),
          check(async () => {
            const n = await countHeartbeats(deps.redis);
            if (n === 0) throw new Error("no broker heartbeat");
            return `${n} node(s)`;
          }),
          check(async () => {
            const counts = await deps.queue.getJobCounts("waiting", "active", "delayed", "failed");
            await deps.backpressure.check();
            return { ...counts, backpressure: deps.backpressure.alerting };
          }),
        ]);
        const ok = postgres.ok && redis.ok && broker.ok && queue.ok;
        const status = ok ? "ok" : "degraded";
        // PostgreSQL down: no one can be told apart, every caller gets the status alone
        const caller = postgres.ok
          ? await withTimeout(authenticate(deps.pool, req, deps.sessionIdleMinutes), 2000).catch(
              () => undefined,
            )
          : undefined;
        if (caller?.role !== "admin") return reply.code(ok ? 200 : 503).send({ status });
        return reply.code(ok ? 200 : 503).send({ status, checks: { postgres, redis, broker, queue } });
      },
    );

    app.get(
      "/metrics",
      {
        config: {
          access: deps.metricsPublic ? "public" : "read",
          // fleet totals, no vehicle's data
          vehicles: "none",
          ...(deps.metricsToken ? { bearerSecret: deps.metricsToken } : {}),
        },
        schema: { tags: ["operations"], summary: "Prometheus text format" },
      },
      async (_req, reply) => {
        reply.type(metrics.contentType);
        return metrics.render();
      },
    );
  };
}
