import { randomBytes } from "node:crypto";
import {
  benchFences,
  benchRules,
  seedFences,
  seedGroup,
  seedRules,
  seedWebhookChannel,
} from "./alert-fixtures.ts";
import { latencyFigures, publishTriggers, startReceiver } from "./alert-latency.ts";
import type { AlertsRun, ThroughputRun } from "./results.ts";
import { type BenchServices, startPipeline } from "./suts.ts";
import { type LadderOptions, ladders } from "./throughput.ts";

export interface AlertsOptions extends Omit<LadderOptions, "mode"> {
  svc: BenchServices;
  devices: number;
  nextPort: () => number;
  /** the pipeline's settings (--env) */
  env: Record<string, string>;
  /** how long the latency publishers run */
  latencySeconds: number;
  /** ladder pairs (none, then rules), each on fresh pipelines: the ratio's spread */
  repeat: number;
}

const SPEEDING_RULES = 50;
/** the latency rule's limit: above every speed the ladder's publishers send (at most 119 km/h) */
const LATENCY_LIMIT_KMH = 130;
const LATENCY_VEHICLES = 20;
/**
 * Each step of the pair's ladders publishes this long before it is measured: each pipeline idles
 * while the other climbs (~30 s), and with rules the first fixes back confirm thousands of episodes
 * whose runs span that silence (a burst of the bench's making; throughput.ts, `preRollSeconds`).
 */
const PRE_ROLL_S = 5;

/**
 * Ingest with 100 alert rules against none, side by side in one run: the single-fix ladder on a
 * fresh pipeline with the bench's geofences and no rules and on another with the same geofences
 * and 50 speeding + 50 geofence rules (alert-fixtures.ts), climbed together (throughput.ts,
 * `ladders`: each rate on one, then on the other), so the ratio is what the rules cost;
 * each step measured after a pre-roll (PRE_ROLL_S); `repeat` such pairs, each on fresh
 * pipelines, for the ratio's spread (one pair on two shared cores is noise: BENCHMARKS.md,
 * "Alerts: three repetitions, before and after the rule cache's stamp"). The ladder's rules have
 * no channels (their alerts are stored and streamed, not delivered). Then, on the last pipeline
 * with rules, the alert latency:
 * a speeding rule with no minimum that notifies a webhook receiver in this process, and
 * publishers whose fixes trigger it.
 */
export async function alertsSection(o: AlertsOptions): Promise<AlertsRun> {
  const env = { ...o.env, WEBHOOK_ALLOW_PRIVATE: "true" };
  const boxes = benchFences();
  const pairs: NonNullable<AlertsRun["more"]> = [];
  let pipe: Awaited<ReturnType<typeof startPipeline>> | undefined;
  let ruleCount = 0;
  for (let repetition = 1; repetition <= o.repeat; repetition++) {
    await pipe?.stop();
    const of = `repetition ${repetition} of ${o.repeat}`;
    o.log(
      `alerts, ${of}: ${o.devices} devices, ${boxes.length} geofences, no rules and 100 rules, side by side`,
    );
    const bare = await startPipeline(o.svc, o.devices, o.nextPort(), env);
    await seedFences(bare.pool, boxes);
    // its own database and Redis database: both run until the pair's ladders are done
    pipe = await startPipeline(o.svc, o.devices, o.nextPort(), env, [], 1);
    const fenceIds = await seedFences(pipe.pool, boxes);
    const groupId = await seedGroup(
      pipe.pool,
      "bench half",
      pipe.devices.filter((_, i) => i % 2 === 0).map((d) => d.id),
    );
    const rules = benchRules(SPEEDING_RULES, fenceIds, groupId);
    ruleCount = rules.length;
    await seedRules(pipe.pool, rules);
    const [without, withRules] = (await ladders(
      [
        { ...bare, name: "pipeline, no rules" },
        { ...pipe, name: "pipeline, 100 rules" },
      ],
      { ...o, mode: "single", preRollSeconds: PRE_ROLL_S, park: true },
    )) as [ThroughputRun, ThroughputRun];
    const alertsWithout = await countAlerts(bare.pool);
    await bare.stop();
    pairs.push({ without, with: withRules, alertsWithout, alertsWith: await countAlerts(pipe.pool) });
  }
  const [first, ...more] = pairs;
  if (!first || !pipe) throw new Error("alerts: repeat must be at least 1");
  const withRules = (pairs[pairs.length - 1] as (typeof pairs)[number]).with;
  // the latency is that of a pipeline keeping up: every fix the ladder had acknowledged stored first
  const acked = withRules.steps.reduce((sum, s) => sum + s.fixesAcked, 0);
  const deadline0 = performance.now() + 300_000;
  while (performance.now() < deadline0 && (await pipe.delivered()) < acked)
    await new Promise((r) => setTimeout(r, 500));

  const secret = randomBytes(24).toString("hex");
  const receiver = await startReceiver(secret);
  const channelId = await seedWebhookChannel(pipe.pool, receiver.url, secret);
  await seedRules(
    pipe.pool,
    [
      {
        name: "bench latency",
        kind: "speeding",
        params: { limitKmh: LATENCY_LIMIT_KMH, minSeconds: 0 },
        scope: { kind: "fleet" },
      },
    ],
    [channelId],
  );
  const vehicles = pipe.devices.slice(0, LATENCY_VEHICLES);
  o.log(`alert latency: ${vehicles.length} vehicles, one episode each a second, ${o.latencySeconds} s`);
  const acks = await publishTriggers(pipe.urls[0] as string, vehicles, {
    seconds: o.latencySeconds,
    intervalMs: 500,
    overKmh: LATENCY_LIMIT_KMH + 20,
  });
  // every start webhook, or 30 s
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline && receipts(receiver.receipts) < acks.size)
    await new Promise((r) => setTimeout(r, 200));
  const latency = latencyFigures(acks, receiver.receipts, receiver.badSignatures());
  await receiver.close();
  await pipe.stop();
  o.log(
    `  ${latency.received}/${latency.triggers} alerts received; PUBACK → webhook p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms`,
  );

  return {
    devices: o.devices,
    rules: { speeding: SPEEDING_RULES, geofence: ruleCount - SPEEDING_RULES, geofences: boxes.length },
    ...first,
    ...(more.length > 0 ? { more } : {}),
    latency: { vehicles: vehicles.length, seconds: o.latencySeconds, ...latency },
  };
}

const receipts = (list: readonly { phase: string }[]) => list.filter((r) => r.phase === "start").length;

async function countAlerts(pool: import("pg").Pool): Promise<number> {
  const r = await pool.query<{ n: number }>("SELECT count(*)::float8 AS n FROM alerts");
  return r.rows[0]?.n ?? 0;
}
