import { startCpuMeter } from "./cpu.ts";
import { runLoad } from "./load.ts";
import type { Step, ThroughputRun } from "./results.ts";
import type { Sut } from "./suts.ts";

export interface LadderOptions {
  mode: "single" | "batch50";
  /** offered messages per second, ascending */
  rates: number[];
  seconds: number;
  processes: number;
  cores: number;
  log: (msg: string) => void;
  /**
   * Extra steps that halve the gap between the highest sustained rate and the first failing one
   * (0: none). A ladder's steps are 1,500-3,000 fixes/s apart; a ratio of two maxima read off
   * such steps can be off by half a step (issue 16's "100 rules / none" read 0.47 where the truth
   * lay between 0.47 and 0.75).
   */
  refine?: number;
  /**
   * Seconds each measured step publishes at its rate before its window opens (0: none; the warm-up
   * step has none). For ladders climbed side by side: each system idles while the others climb,
   * its devices gone, and the first seconds back are a recovery, not the rate it sustains (with
   * alert rules, the runs that span the silence are confirmed at the first fix back: BENCHMARKS.md,
   * "Alert episodes after a pause"). The pre-roll's own commit p99 is kept in the step.
   */
  preRollSeconds?: number;
  /**
   * Each step (the warm-up too) ends with every device sending one fix at 0 km/h once the run's
   * messages are answered (PublisherJob.park): the fleet parks before the pause the side-by-side ladders impose, so the
   * next step starts with no speeding run open instead of confirming, at its first fixes, every run
   * that spanned the silence (a fleet-wide outage mid-drive: `npm run bench:profile -- --after-pause`).
   */
  park?: boolean;
}

/**
 * Climbs the offered-load ladder against one system, after a warm-up step, until a step is not
 * sustained: delivered < 95 % of offered, exact p99 publish→commit ≥ 1 s where it is measured,
 * or the load generators could not send what the step offered (then the generator, not the
 * system, is what the step measured).
 */
export async function ladder(sut: LadderSut, o: LadderOptions): Promise<ThroughputRun> {
  return (await ladders([sut], o))[0] as ThroughputRun;
}

type LadderSut = Sut & { redis?: import("ioredis").Redis };

/**
 * The same ladder climbed against several systems side by side: each rate is measured on every
 * system still climbing, one after the other, the order turning from step to step, and each
 * refinement step likewise. A ratio of two systems' maxima is then read off steps minutes apart
 * at most instead of a whole ladder apart: on a shared machine the maximum of one system moved
 * by a third from one ladder to the next (BENCHMARKS.md, "The alerts pairs again, after the bound
 * and before it"), and that drift now falls on both alike.
 */
export async function ladders(suts: readonly LadderSut[], o: LadderOptions): Promise<ThroughputRun[]> {
  const fpm = o.mode === "single" ? 1 : 50;
  const climbs = suts.map((sut) => ({ sut, steps: [] as Step[], warmup: undefined as Step | undefined }));
  let turn = 0;
  // every climb not yet done, in this turn's order
  const inTurn = <T>(list: T[]) => (turn++ % 2 === 0 ? list : [...list].reverse());
  for (const c of climbs) {
    // a first step at the lowest rate warms the system (JIT, connection pools, caches, the
    // database's first partitions): without it the first step of a cold system fails (issue 18)
    c.warmup = await measureStep(c.sut, {
      ...o,
      rate: o.rates[0] as number,
      fpm,
      seconds: Math.max(3, o.seconds / 2),
      preRollSeconds: 0,
    });
    o.log(`  ${c.sut.name} ${o.mode} warm-up: ${describe(c.warmup)}`);
  }
  // the others' backlog stored before a system's step (a failed step may leave more than its own
  // drain waited for): only the system measured has work to do
  const quiet = async (c: (typeof climbs)[number]) => {
    for (const other of climbs) if (other !== c) await drain(other.sut, 120_000);
  };
  for (const rate of o.rates) {
    const climbing = climbs.filter((c) => c.steps.every((s) => s.sustained));
    if (climbing.length === 0) break;
    for (const c of inTurn(climbing)) {
      await quiet(c);
      const step = await measureStep(c.sut, { ...o, rate, fpm });
      c.steps.push(step);
      o.log(`  ${c.sut.name} ${o.mode} ${describe(step)}`);
    }
  }
  const refining = climbs.flatMap((c) => {
    const bounds = refineBounds(c.steps);
    return bounds ? [{ c, low: bounds[0], high: bounds[1] }] : [];
  });
  for (let i = 0; i < (o.refine ?? 0); i++) {
    for (const r of inTurn(refining)) {
      const rate = Math.round((r.low + r.high) / 2);
      if (rate <= r.low || rate >= r.high) continue;
      await quiet(r.c);
      const step = { ...(await measureStep(r.c.sut, { ...o, rate, fpm })), refined: true };
      r.c.steps.push(step);
      o.log(`  ${r.c.sut.name} ${o.mode} refined: ${describe(step)}`);
      if (step.sustained) r.low = rate;
      else r.high = rate;
    }
  }
  return climbs.map(({ sut, steps, warmup }) => {
    return {
      sut: sut.name,
      mode: o.mode,
      devices: sut.devices.length,
      steps,
      warmup,
      maxSustained: maxSustained(steps),
      peakDelivered: Math.max(0, ...steps.map((s) => s.deliveredFixes)),
    };
  });
}

export async function measureStep(
  sut: Sut & { redis?: import("ioredis").Redis },
  o: {
    rate: number;
    fpm: number;
    seconds: number;
    processes: number;
    cores: number;
    /** how long the system may take to store what it accepted before the step is read */
    drainTimeoutMs?: number;
    /** check every message against the database after the step (Step.reconciled) */
    reconcile?: boolean;
    /** seconds of publishing at the rate before the window (LadderOptions.preRollSeconds) */
    preRollSeconds?: number;
    /** the devices park after the run (LadderOptions.park) */
    park?: boolean;
  },
): Promise<Step> {
  const preMs = (o.preRollSeconds ?? 0) * 1000;
  let preRoll: [number, number] | undefined;
  let peakRss = 0;
  let cpu: Record<string, number> | undefined;
  let windowMs: [number, number] = [0, 0];
  const result = await runLoad(
    {
      ...(sut.protocol ? { protocol: sut.protocol } : {}),
      urls: sut.urls,
      devices: sut.devices,
      rate: o.rate,
      seconds: o.seconds + preMs / 1000,
      processes: o.processes,
      fixesPerMessage: o.fpm,
      qos: 1,
      ...(o.reconcile ? { ledger: true } : {}),
      ...(o.park ? { park: true } : {}),
      // with a pre-roll, PUBACK times from where the commit window opens (the pre-roll and the
      // second after it left out) to the end of the run
      ...(preMs > 0 ? { sampleAfterMs: preMs + warmMs(o.seconds) } : {}),
    },
    async () => {
      if (preMs > 0) {
        const from = Date.now();
        await new Promise((r) => setTimeout(r, preMs));
        preRoll = [from, Date.now()];
      }
      // skip the publishers' ramp-up and stop before they do: a steady-state window
      const warm = warmMs(o.seconds);
      await new Promise((r) => setTimeout(r, warm));
      const d0 = await sut.delivered();
      const t0 = performance.now();
      const wall0 = Date.now();
      const cpuMeter = startCpuMeter(sut.cpuGroups());
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, sut.rss());
      }, 250);
      await new Promise((r) => setTimeout(r, o.seconds * 1000 - 2 * warm));
      clearInterval(sampler);
      windowMs = [wall0, Date.now()];
      const d1 = await sut.delivered();
      cpu = cpuMeter();
      return (d1 - d0) / ((performance.now() - t0) / 1000);
    },
    o.cores,
  );
  // commit latency once everything accepted is stored: a commit slower than the step still counts
  const drainS = await drain(sut, o.drainTimeoutMs ?? 30_000);
  const commit = sut.commitLatency ? await sut.commitLatency(...windowMs) : undefined;
  const preCommit = preRoll && sut.commitLatency ? await sut.commitLatency(...preRoll) : undefined;
  const reconciled = result.ledger && sut.reconcile ? await sut.reconcile(result.ledger) : undefined;
  const offeredFixes = o.rate * o.fpm;
  const delivered = result.during;
  const failed = failure({
    deliveredShare: delivered / offeredFixes,
    commitP99: commit?.p99,
    sentShare: result.offered > 0 ? result.sent / result.offered : 1,
  });
  return {
    offeredMsgs: o.rate,
    // the whole run's, pre-roll included (as sentShare, unanswered, transmissions, reconnects)
    sentMsgs: result.sent / (o.seconds + preMs / 1000 || 1),
    offeredFixes,
    deliveredFixes: delivered,
    fixesAcked: result.fixesAcked,
    ackP50: result.ackP50,
    ackP99: result.ackP99,
    commitP50: commit?.p50,
    commitP99: commit?.p99,
    committedMsgs: commit?.messages,
    ...(preRoll ? { preRoll: { seconds: preMs / 1000, commitP99: preCommit?.p99 } } : {}),
    ...(result.parked !== undefined ? { parked: result.parked } : {}),
    drainS,
    loadCpuShare: result.loadCpuShare,
    cpu,
    rssMB: peakRss / 2 ** 20,
    reconciled,
    transmissions: result.transmissions,
    refusedTransmissions: result.refused,
    reconnects: result.reconnects,
    unanswered: result.unanswered,
    sustained: failed === undefined,
    failed,
  };
}

/**
 * The rates (messages/s) a ladder's refinement bisects between: its highest sustained step (0 when
 * none was) and its first failing one; undefined when every step was sustained.
 */
export function refineBounds(
  steps: readonly Pick<Step, "offeredMsgs" | "sustained">[],
): [number, number] | undefined {
  const failedAt = steps.find((st) => !st.sustained)?.offeredMsgs;
  if (failedAt === undefined) return undefined;
  return [Math.max(0, ...steps.filter((st) => st.sustained).map((st) => st.offeredMsgs)), failedAt];
}

/**
 * The highest rate a ladder sustained, fixes/s: each sustained step counts with what it delivered,
 * but never more than it was offered (a window that also stores a backlog, the ramp's or a
 * pre-roll's, delivers more than the offer, and more so on the slower system); 0 when none was.
 */
export function maxSustained(
  steps: readonly Pick<Step, "sustained" | "deliveredFixes" | "offeredFixes">[],
): number {
  return Math.max(
    0,
    ...steps.filter((s) => s.sustained).map((s) => Math.min(s.deliveredFixes, s.offeredFixes)),
  );
}

/** The start of a step the window skips (the publishers' ramp-up), and as much before its end. */
function warmMs(seconds: number): number {
  return Math.min(1000, seconds * 200);
}

/** Why a step was not sustained, or undefined when it was. */
export function failure(m: {
  deliveredShare: number;
  commitP99?: number | undefined;
  sentShare: number;
}): string | undefined {
  const why: string[] = [];
  if (m.sentShare < 0.98) why.push(`sent ${Math.round(m.sentShare * 100)} % of the offer`);
  if (m.deliveredShare < 0.95) why.push(`delivered ${Math.round(m.deliveredShare * 100)} %`);
  if (m.commitP99 !== undefined && m.commitP99 >= 1000) why.push(`commit p99 ${Math.round(m.commitP99)} ms`);
  return why.length ? why.join(", ") : undefined;
}

function describe(s: Step): string {
  return (
    `offered ${Math.round(s.offeredFixes)} fixes/s → delivered ${Math.round(s.deliveredFixes)}; ` +
    `PUBACK p99 ${s.ackP99.toFixed(1)} ms; commit p99 ${s.commitP99 === undefined ? "n/a" : `${Math.round(s.commitP99)} ms`}; ` +
    (s.preRoll?.commitP99 === undefined
      ? ""
      : `pre-roll commit p99 ${Math.round(s.preRoll.commitP99)} ms; `) +
    (s.sustained ? "sustained" : `NOT sustained (${s.failed})`)
  );
}

/** Waits until the system has delivered everything (its count stops moving), bounded. */
export async function drain(sut: Sut, timeoutMs: number): Promise<number> {
  const start = performance.now();
  let last = -1;
  let now = await sut.delivered();
  while (now !== last && performance.now() - start < timeoutMs) {
    await new Promise((r) => setTimeout(r, 500));
    last = now;
    now = await sut.delivered();
  }
  return (performance.now() - start) / 1000;
}
