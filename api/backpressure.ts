import type { Logger } from "../core/logger.ts";
import type { LocationQueues } from "../core/queues.ts";
import { withTimeout } from "./with-timeout.ts";

/**
 * Watches the `locations-*` queues' depth: above QUEUE_ALERT_DEPTH waiting jobs the workers are
 * not keeping up (or are down). Logs a warning when the depth crosses the threshold (once per
 * crossing, not per check) and keeps the state for the /metrics gauge and /health.
 */
export class BackpressureMonitor {
  alerting = false;
  waiting = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly queue: LocationQueues,
    private readonly threshold: number,
    private readonly log: Logger,
  ) {}

  start(everyMs = 5000): void {
    this.timer = setInterval(() => void this.check().catch(() => {}), everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private inFlight: Promise<boolean> | undefined;

  /** Concurrent callers (timer, /metrics, /health) share one check, so a crossing logs once. */
  check(): Promise<boolean> {
    this.inFlight ??= this.measure().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async measure(): Promise<boolean> {
    this.waiting = await withTimeout(this.queue.getWaitingCount(), 2000, "queue depth");
    const above = this.waiting > this.threshold;
    if (above && !this.alerting) {
      this.log.warn(
        { waiting: this.waiting, threshold: this.threshold },
        "queue backpressure: waiting batches above QUEUE_ALERT_DEPTH (workers behind or down)",
      );
    } else if (!above && this.alerting) {
      this.log.info({ waiting: this.waiting, threshold: this.threshold }, "queue backpressure over");
    }
    this.alerting = above;
    return above;
  }
}
