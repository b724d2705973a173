import { accountSend, jitter, type SendOutcome, sleep } from "./fix-source.ts";
import type { OutgoingMessage } from "./reporter.ts";
import type { TrackerOptions } from "./tracker.ts";
import { TrackerBase } from "./tracker-base.ts";

interface Queued {
  msg: OutgoingMessage;
  done: (outcome: SendOutcome) => void;
}

/**
 * A phone running Traccar Client (OsmAnd protocol, api/osmand-listener.ts is the other end): each
 * location is POSTed as the app's JSON, one request at a time, as the app's location SDK does.
 * 200 acknowledges it; 400 is a reject (counted, not sent again: the simulator's fixes would be
 * refused again); 403 (device key refused) takes the phone off the road; anything else (429, 503,
 * no answer) keeps the location and tries again after a backoff, as the app does.
 */
export class OsmAndDevice extends TrackerBase<TrackerOptions> {
  private readonly queue: Queued[] = [];
  private sending = false;
  private period: number;
  /** the last request got an answer */
  connected = false;

  constructor(opts: TrackerOptions) {
    super(opts);
    this.period = opts.backoff.initialMs;
  }

  /** HTTP needs no connection: the first request goes out with the first fix */
  connect(): void {}

  async stop(deadline: number): Promise<void> {
    if (this.ended) return;
    for (const msg of this.o.reporter.flush()) this.send(msg);
    while ((this.sending || this.queue.length > 0) && Date.now() < deadline && !this.refused) await sleep(50);
    this.ended = true;
  }

  protected send(msg: OutgoingMessage): void {
    this.queue.push({ msg, done: accountSend(this.vehicleId, this.o.counters, this.o.hooks, msg) });
    if (!this.sending) void this.drain();
  }

  private async drain(): Promise<void> {
    this.sending = true;
    while (this.queue.length > 0 && !this.refused) {
      const item = this.queue[0] as Queued;
      const status = await this.post(item.msg);
      if (status === 200 || status === 400) {
        this.queue.shift();
        this.period = this.o.backoff.initialMs;
        item.done(
          status === 200
            ? { ok: true }
            : { ok: "rejected", detail: `HTTP 400 for ${item.msg.fixes[0]?.messageId}` },
        );
        continue;
      }
      if (status === 403) {
        this.refused = true;
        this.o.counters.authRefused++;
        this.o.hooks.onError?.(this.vehicleId, new Error("device key refused (403): stale credentials?"));
        break;
      }
      if (this.ended) break;
      this.o.counters.resent++;
      await sleep(jitter(this.period));
      this.period = Math.min(this.o.backoff.maxMs, this.period * 2);
    }
    this.sending = false;
  }

  /** The HTTP status, or 0 when no answer came. */
  private async post(msg: OutgoingMessage): Promise<number> {
    try {
      const res = await fetch(this.o.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: msg.payload,
        signal: AbortSignal.timeout(30_000),
      });
      await res.arrayBuffer();
      this.connected = true;
      return res.status;
    } catch (err) {
      this.connected = false;
      this.o.counters.connectionErrors++;
      this.o.hooks.onError?.(this.vehicleId, err as Error);
      return 0;
    }
  }
}
