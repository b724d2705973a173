import { connect, type Socket } from "node:net";
import { accountSend, jitter, type SendOutcome, sleep } from "./fix-source.ts";
import type { OutgoingMessage } from "./reporter.ts";
import { imeiHandshake } from "./teltonika-codec8.ts";
import type { TrackerOptions } from "./tracker.ts";
import { TrackerBase } from "./tracker-base.ts";

export interface TeltonikaTcpOptions extends TrackerOptions {
  imei: string;
}

interface Queued {
  msg: OutgoingMessage;
  done: (outcome: SendOutcome) => void;
}

/**
 * A Teltonika FMB tracker over TCP (broker/teltonika-tcp.ts is the other end): the IMEI
 * handshake, then one AVL packet at a time, the next only once the server has answered the
 * record count. A packet not answered when the connection drops is sent again after the
 * reconnect (the device keeps its records until acknowledged); reconnects back off with jitter.
 * A 0x00 handshake (IMEI not registered) takes the tracker off the road.
 */
export class TeltonikaTcpDevice extends TrackerBase<TeltonikaTcpOptions> {
  private readonly queue: Queued[] = [];
  private socket: Socket | undefined;
  private inFlight: Queued | undefined;
  private ready = false;
  private dialled = false;
  private period: number;

  constructor(opts: TeltonikaTcpOptions) {
    super(opts);
    this.period = opts.backoff.initialMs;
  }

  get connected(): boolean {
    return this.ready;
  }

  connect(): void {
    if (this.dialled) return;
    this.dialled = true;
    this.dial();
  }

  async stop(deadline: number): Promise<void> {
    if (this.ended) return;
    this.connect();
    for (const msg of this.o.reporter.flush()) this.send(msg);
    while ((this.inFlight || this.queue.length > 0) && Date.now() < deadline && !this.refused)
      await sleep(50);
    this.ended = true;
    this.socket?.destroy();
  }

  protected send(msg: OutgoingMessage): void {
    this.queue.push({ msg, done: accountSend(this.vehicleId, this.o.counters, this.o.hooks, msg) });
    this.next();
  }

  private dial(): void {
    const { hostname, port } = new URL(this.o.url);
    const socket = connect({ host: hostname, port: Number(port) });
    this.socket = socket;
    let buf = Buffer.alloc(0);
    socket.setNoDelay(true);
    socket.on("connect", () => socket.write(imeiHandshake(this.o.imei)));
    socket.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!this.ready) {
        const answer = buf[0];
        if (answer === undefined) return;
        buf = buf.subarray(1);
        if (answer !== 0x01) {
          this.refused = true;
          this.o.counters.authRefused++;
          this.o.hooks.onError?.(this.vehicleId, new Error(`IMEI ${this.o.imei} refused by the server`));
          socket.destroy();
          return;
        }
        this.ready = true;
        this.period = this.o.backoff.initialMs;
        this.o.counters.connects++;
        this.next();
      }
      // the answer to a packet: its record count, four bytes
      while (buf.length >= 4 && this.inFlight) {
        buf = buf.subarray(4);
        const done = this.inFlight.done;
        this.inFlight = undefined;
        done({ ok: true });
        this.next();
      }
    });
    socket.on("error", (err) => {
      this.o.counters.connectionErrors++;
      this.o.hooks.onError?.(this.vehicleId, err);
    });
    socket.on("close", () => {
      this.ready = false;
      if (this.inFlight) {
        // unanswered: the device keeps the records and sends the packet again
        this.queue.unshift(this.inFlight);
        this.inFlight = undefined;
        this.o.counters.resent++;
      }
      if (this.ended || this.refused) return;
      this.o.counters.reconnects++;
      const wait = jitter(this.period);
      this.period = Math.min(this.o.backoff.maxMs, this.period * 2);
      setTimeout(() => this.dial(), wait).unref();
    });
  }

  private next(): void {
    if (!this.ready || this.inFlight || !this.socket) return;
    const item = this.queue.shift();
    if (!item) return;
    this.inFlight = item;
    this.socket.write(item.msg.payload);
  }
}
