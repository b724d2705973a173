import { FixSource } from "./fix-source.ts";
import type { OutgoingMessage } from "./reporter.ts";
import type { Tracker, TrackerOptions } from "./tracker.ts";

/** What every tracker does alike: its fix schedule, and handing each fix's messages to `send`. */
export abstract class TrackerBase<O extends TrackerOptions> implements Tracker {
  readonly vehicleId: string;
  protected readonly fixes: FixSource;
  protected ended = false;
  /** refused by the platform (bad credentials): the tracker stays down */
  refused = false;
  abstract readonly connected: boolean;

  constructor(protected readonly o: O) {
    this.vehicleId = o.vehicleId;
    this.fixes = new FixSource(o);
  }

  /** wall-clock time the next fix is due */
  get nextDueAt(): number {
    return this.fixes.nextDueAt;
  }

  /** generating and sending: not refused, not stopped */
  get active(): boolean {
    return !this.refused && !this.ended;
  }

  /** fixes held back by a coverage gap */
  get buffered(): number {
    return this.o.reporter.buffered;
  }

  /** Generates the next fix and sends what the reporter decides to send. */
  tick(): void {
    for (const msg of this.o.reporter.report(this.fixes.next())) this.send(msg);
  }

  abstract connect(): void;
  abstract stop(deadline: number): Promise<void>;
  protected abstract send(msg: OutgoingMessage): void;
}
