import type { Logger } from "../core/logger.ts";
import type { BatchResult } from "./batch-context.ts";

/**
 * The worker's info-level account of its batches: one "batches committed" line per interval with
 * the totals since the previous one (nothing when idle). Each batch's own line is debug
 * (process-batch.ts); at info it was most of the log (11,262 of 12,132 lines in 16 minutes).
 * `batches` counts transactions: a job committed in the one of the job before it
 * (coalesce.ts) is counted in `coalesced` instead.
 */
export function batchLogSummary(log: Logger, everyMs: number) {
  let totals = { batches: 0, coalesced: 0, inserted: 0, duplicates: 0, rejected: 0, anomalies: 0, events: 0 };
  const flush = () => {
    if (totals.batches === 0 && totals.coalesced === 0) return;
    log.info({ ...totals, seconds: everyMs / 1000 }, "batches committed");
    totals = { batches: 0, coalesced: 0, inserted: 0, duplicates: 0, rejected: 0, anomalies: 0, events: 0 };
  };
  const timer = setInterval(flush, everyMs);
  timer.unref();
  return {
    add(r: BatchResult): void {
      if (r.committedWith !== undefined) {
        totals.coalesced++;
        return;
      }
      totals.batches++;
      totals.inserted += r.inserted;
      totals.duplicates += r.duplicates;
      totals.rejected += r.rejected;
      totals.anomalies += r.anomalies;
      totals.events += r.events;
    },
    /** logs what is left and stops */
    stop(): void {
      clearInterval(timer);
      flush();
    },
  };
}
