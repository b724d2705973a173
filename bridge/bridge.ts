import type { Config } from "../core/config.ts";
import { type Fix, type TimeWindow, toFix } from "../core/fix.ts";
import { defineLiveUpdate, liveArgs, liveKeys, newestPerVehicle } from "../core/live-state.ts";
import type { Logger } from "../core/logger.ts";
import { counterField, labelledField } from "../core/metrics-catalogue.ts";
import type { BatchJob, LocationQueues } from "../core/queues.ts";
import { channelOf, type Redis, redisKeys } from "../core/redis.ts";
import { cutPayload, type Reject, type RejectReason } from "../core/reject-reasons.ts";
import { ownIngestKind } from "../core/topics.ts";
import { type AdapterKind, adapters } from "./adapters/index.ts";
import { hasAvlPreamble } from "./adapters/teltonika-codec8.ts";
import { CandidateReject } from "./adapters/types.ts";
import { Batcher } from "./batcher.ts";

/** One message as it reached the platform (MQTT publish or HTTP ingest). */
export interface IncomingMessage {
  /** the authenticated vehicle */
  vehicleId: string;
  /** the IMEI registered on it, if any: Teltonika topics (`{imei}/data`) name the vehicle by it */
  imei?: string | null | undefined;
  topic: string;
  /**
   * The topic's ingest kind, when the caller has classified it against this vehicle already
   * (core/topics.ts `ownIngestKind`, as the broker's publish ACL does): the bridge takes it as
   * is. Without it the bridge classifies the topic itself, once, at its entry.
   */
  kind?: AdapterKind | undefined;
  payload: Buffer;
  receivedAt: number;
  /** correlation id assigned at receipt; a fix's own messageId takes precedence */
  messageId: string;
}

export interface IngestOutcome {
  accepted: number;
  rejects: Reject[];
  /** set when the adapter ignored the message on purpose (e.g. an OwnTracks lwt): why */
  ignored?: string | undefined;
}

/** Steps 1-5 for one message: its fixes and rejects, or why it was ignored on purpose. */
export interface Decision {
  fixes: Fix[];
  rejects: Reject[];
  ignored?: string;
}

export interface BridgeDeps {
  config: Pick<
    Config,
    | "BATCH_SIZE"
    | "BATCH_MS"
    | "HOLD_CAP_MS"
    | "MAX_PAYLOAD_BYTES"
    | "MAX_FIXES_PER_UPLOAD"
    | "MAX_CLOCK_SKEW"
    | "RETENTION_DAYS"
  >;
  queue: LocationQueues;
  /** for live state and counters (may be the queue's connection) */
  redis: Redis;
  log: Logger;
  now?: () => number;
}

export type Bridge = ReturnType<typeof createBridge>;

/**
 * The bridge: every ingest message goes through these steps, in this order.
 *   1. size cap           → E_TOO_LARGE
 *   2. topic → adapter    (native | native-batch | owntracks | teltonika: `msg.kind`, else
 *                          classified here, core/topics.ts; osmand: `msg.kind` only, set by the
 *                          HTTP listener) → E_TOPIC_MISMATCH
 *   3. JSON.parse         → E_BAD_JSON (a zero-length payload reaches the adapter as undefined;
 *                           a binary Teltonika Codec 8/8E packet on `{imei}/data` as the Buffer)
 *   4. adapter            → candidate fixes, a reject of the whole message, or ignored on purpose
 *                           (acknowledged; neither stored nor counted as an error); more than
 *                           MAX_FIXES_PER_UPLOAD candidates → E_TOO_LARGE, one reject for the message
 *   5. zod + time window  → Fix, or a reject per candidate (core/fix.ts)
 *   6. batch              → resolved once the batch is durably queued (batcher.ts)
 * After each flush, one Redis call updates live state, the GEO index and the live channel,
 * and one pipeline moves the counters.
 */
export function createBridge(deps: BridgeDeps) {
  const { config, queue, log } = deps;
  const now = deps.now ?? Date.now;
  const redis = defineLiveUpdate(deps.redis);
  const retentionMs = config.RETENTION_DAYS * 86_400_000;
  const maxSkewMs = config.MAX_CLOCK_SKEW * 1000;

  const batcher = new Batcher({
    size: config.BATCH_SIZE,
    ms: config.BATCH_MS,
    holdCapMs: config.HOLD_CAP_MS,
    log,
    now,
    enqueue: async (batchId, job) => {
      // job ids from the batch id: an add retried after a lost reply is ignored by BullMQ, not doubled
      await queue.add(batchId, job);
    },
    onQueued: (batchId, job) => afterQueued(batchId, job),
  });

  const liveChannel = channelOf(redis, liveKeys.liveChannel);
  function afterQueued(batchId: string, job: BatchJob): void {
    const p = redis.pipeline();
    if (job.fixes.length > 0) {
      p.liveUpdate(...liveArgs(newestPerVehicle(job.fixes), liveChannel));
      p.hincrby(redisKeys.metrics, counterField("bridge_fixes_accepted"), job.fixes.length);
    }
    p.hincrby(redisKeys.metrics, counterField("bridge_batches"), 1);
    const byReason = new Map<RejectReason, number>();
    for (const r of job.rejects) byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
    for (const [reason, n] of byReason)
      p.hincrby(redisKeys.metrics, labelledField("bridge_rejected", reason), n);
    p.exec().catch((err: unknown) => log.warn({ err, batchId }, "live state update failed"));
    if (log.isLevelEnabled("debug")) {
      for (const f of job.fixes) {
        const jobId = queue.jobIdOf(batchId, f.vehicleId);
        log.debug({ vehicleId: f.vehicleId, messageId: f.messageId, jobId }, "fix queued");
      }
      for (const r of job.rejects) {
        const jobId = queue.jobIdOf(batchId, r.vehicleId);
        log.debug(
          { vehicleId: r.vehicleId, messageId: r.messageId, jobId, reason: r.reason },
          "reject queued",
        );
      }
    }
  }

  /**
   * Steps 1-5: a pure decision on one message. It runs for every message on the broker's event
   * loop, so it creates no closure per call: tsx (keepNames) names every named closure it creates
   * with a defineProperty, a measurable share of the profile (BENCHMARKS.md, broker profile).
   */
  function decide(msg: IncomingMessage): Decision {
    if (msg.payload.length > config.MAX_PAYLOAD_BYTES) {
      const detail = `${msg.payload.length} bytes > MAX_PAYLOAD_BYTES ${config.MAX_PAYLOAD_BYTES}`;
      return rejected(msg, "E_TOO_LARGE", detail, msg.payload);
    }
    const kind = msg.kind ?? ownIngestKind(msg.topic, msg);
    if (!kind) {
      const detail = `topic ${msg.topic} is not an ingest topic of ${msg.vehicleId}`;
      return rejected(msg, "E_TOPIC_MISMATCH", detail, msg.payload);
    }
    // a binary packet is shown in the dead letter as hex, not as mangled UTF-8
    const binary = kind === "teltonika" && hasAvlPreamble(msg.payload);
    const shown = binary ? msg.payload.toString("hex") : msg.payload;
    let decoded: unknown;
    try {
      decoded = binary
        ? msg.payload
        : msg.payload.length === 0
          ? undefined
          : JSON.parse(msg.payload.toString("utf8"));
    } catch (err) {
      return rejected(msg, "E_BAD_JSON", (err as Error).message, msg.payload);
    }
    let adapted: ReturnType<(typeof adapters)[typeof kind]>;
    try {
      adapted = adapters[kind](decoded);
    } catch (err) {
      // an adapter bug must not cost the device its connection (it would resend forever): the
      // message is rejected, and the error logged so the bug gets fixed
      log.error({ err, topic: msg.topic, vehicleId: msg.vehicleId }, "adapter threw");
      return rejected(msg, "E_BAD_PAYLOAD", "payload could not be read", shown);
    }
    if (adapted.ok === "ignored") return { fixes: [], rejects: [], ignored: adapted.detail };
    if (!adapted.ok) return rejected(msg, adapted.reason, adapted.detail, shown);
    const candidates = adapted.candidates;
    if (candidates.length > config.MAX_FIXES_PER_UPLOAD) {
      const detail = `${candidates.length} fixes > MAX_FIXES_PER_UPLOAD ${config.MAX_FIXES_PER_UPLOAD}`;
      return rejected(msg, "E_TOO_LARGE", detail, msg.payload);
    }
    const window: TimeWindow = { now: now(), retentionMs, maxSkewMs };
    const fixes: Fix[] = [];
    const rejects: Reject[] = [];
    const many = candidates.length > 1;
    for (let i = 0; i < candidates.length; i++) {
      const candidate = candidates[i];
      const id = many ? `${msg.messageId}.${i}` : msg.messageId;
      const r =
        candidate instanceof CandidateReject
          ? { ok: false as const, reason: candidate.reason, detail: candidate.detail }
          : toFix(candidate, msg.vehicleId, id, msg.receivedAt, window);
      if (r.ok) fixes.push(r.fix);
      else
        rejects.push(
          rejectOf(
            msg,
            r.reason,
            many ? `[${i}] ${r.detail}` : r.detail,
            many ? safeJson(candidate instanceof CandidateReject ? candidate.raw : candidate) : shown,
            id,
          ),
        );
    }
    return { fixes, rejects };
  }

  /** Step 6: resolves once the decision's fixes and rejects are queued (one promise per message). */
  function queueDecision({ fixes, rejects, ignored }: Decision): Promise<IngestOutcome> {
    if (ignored !== undefined) {
      // nothing to store, so nothing to wait for; such messages are rare (lwt, transitions)
      redis.hincrby(redisKeys.metrics, counterField("bridge_ignored"), 1).catch(() => {});
      return Promise.resolve({ accepted: 0, rejects, ignored });
    }
    const outcome: IngestOutcome = { accepted: fixes.length, rejects };
    return batcher.add(fixes, rejects).then(() => outcome);
  }

  return {
    decide,
    /** the broker decides first, to charge the device's rate limit by the message's fixes, then queues */
    queueDecision,
    /** Validates and batches one message; resolves once its fixes and rejects are queued. */
    ingest: (msg: IncomingMessage): Promise<IngestOutcome> => queueDecision(decide(msg)),
    get held(): number {
      return batcher.held;
    },
    /** how long the oldest message held for the queue has waited, ms (0 when none is held) */
    queueLatencyMs(): number {
      const at = batcher.oldestHeldAt;
      return at === undefined ? 0 : Math.max(0, now() - at);
    },
    /** the process's hold cap, shared with the broker's admission (broker/limits/admission.ts) */
    holdCap: batcher.holdCap,
    flush: () => batcher.flush(),
    close: () => batcher.close(),
  };
}

/** A decision rejecting the whole message, for one reason. */
function rejected(
  msg: IncomingMessage,
  reason: RejectReason,
  detail: string,
  payload: Buffer | string,
): Decision {
  return { fixes: [], rejects: [rejectOf(msg, reason, detail, payload, msg.messageId)] };
}

function rejectOf(
  msg: IncomingMessage,
  reason: RejectReason,
  detail: string,
  payload: Buffer | string,
  messageId: string,
): Reject {
  return {
    vehicleId: msg.vehicleId,
    topic: msg.topic,
    reason,
    // JSON.parse's messages quote the payload, NUL included (not storable in a text column)
    detail: cutPayload(detail),
    payload: cutPayload(payload),
    receivedAt: msg.receivedAt,
    messageId,
  };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    // nested too deep for JSON.stringify (and String(), which recurses too)
    return Object.prototype.toString.call(v);
  }
}
