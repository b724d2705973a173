import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Client } from "aedes";

/** The broker's own measures of overload, each compared with its threshold (0 = not watched). */
export interface ShedMeasures {
  /** event-loop delay p99 over the last sampling interval, ms */
  loopDelayMs: number;
  /** ingest messages admitted to the bridge or waiting at the held ceilings (held-limit.ts) */
  held: number;
  /** age of the oldest message the bridge holds for the queue, ms (0 when it holds none) */
  queueMs: number;
}

export interface LoadShedOptions {
  /** shedding starts when a measure reaches its threshold; a threshold of 0 is not watched */
  thresholds: ShedMeasures;
  /** shedding stops when every measure is below this share of its threshold (hysteresis) */
  resumeRatio: number;
  /** the measures other than the loop delay, which the shedder samples itself */
  measure: () => Pick<ShedMeasures, "held" | "queueMs">;
  /** how often the measures are taken */
  intervalMs: number;
  /** shedding lasts at least this long: reading stopped, the loop delay falls at once */
  minShedMs: number;
  /**
   * a client paused this long while shedding lasts is disconnected (0 = paused until it stops): the
   * publishes it sends meanwhile wait in the kernel, and would be acknowledged that much later
   */
  disconnectAfterMs: number;
  onStart: (m: ShedMeasures) => void;
  /** clients disconnected at one sample (disconnectAfterMs), for the metrics while shedding lasts */
  onDisconnect?: (n: number) => void;
  /** `paused`: sockets not read when it stopped; `disconnected`: clients closed; `ms`: how long it lasted */
  onStop: (m: ShedMeasures & { paused: number; disconnected: number; ms: number }) => void;
  now?: () => number;
}

export type LoadShed = ReturnType<typeof createLoadShed>;

interface Gate {
  /** Aedes' own reader: decrements the client's count of packets in progress, reads when none is */
  next: (err?: Error | null) => void;
  /** calls that came while the client was paused, replayed in order on resume */
  deferred: number;
}

/** sockets read again per turn of the event loop when shedding stops */
const RESUME_SLICE = 200;

type GatedClient = Client & {
  _nextBatch: (err?: Error | null) => void;
  _keepaliveTimer: NodeJS.Timeout | null;
  _keepaliveInterval: number;
};

/**
 * Admission before collapse: while the broker is overloaded (a measure at its threshold) it stops
 * reading from every connected client's socket and the connect limits (connect-limit.ts) answer
 * new CONNECTs with CONNACK 3; once every measure is below `resumeRatio` of its threshold the
 * sockets are read again. A paused socket holds at most its stream buffer in the process: the
 * kernel's receive window then fills and the device's TCP stack waits, its publishes unacknowledged
 * but not lost. The packets already parsed finish (their PUBACKs go out). Aedes 1.2 speaks MQTT
 * 3.1 and 3.1.1 only (a v5 CONNECT gets return code 1), so there is no v5 reason code 0x88 to send.
 *
 * Aedes reads a client's socket in `_nextBatch`, called on 'readable' and by every packet
 * handled; `gate` puts a wrapper in its place (from the connection's first byte) that counts
 * the calls made while paused and replays them on resume, so that the count of packets in
 * progress stays right (Aedes' own pause() drops them and could leave a client never read again).
 * The keepalive timers of paused clients are refreshed at every sample: a device must not be
 * dropped for the silence the broker imposed.
 *
 * Pausing bounds memory, not the wait: a client with no limit on its unacknowledged publishes
 * keeps writing into a paused socket, and what it wrote is answered as late as the overload lasts.
 * With `disconnectAfterMs` set, a client still paused that long into shedding with something unread
 * is disconnected instead: the publishes it sent unread are dropped with its socket, unacknowledged,
 * and its device resends them once a CONNECT is accepted again; the ones already read are stored,
 * their PUBACKs lost with the socket, so the device resends those too and they are stored once
 * (fixes are unique per vehicle and time). Its Last Will is published, as for any unclean close, and
 * its vehicle goes offline if shedding outlasts PRESENCE_GRACE_S. Off by default: devices that keep
 * a window of unacknowledged publishes (Paho Java's 10, MQTT 5's Receive Maximum) are not answered
 * late anyway, and the reconnects cost throughput (BENCHMARKS.md).
 */
export function createLoadShed(o: LoadShedOptions) {
  const now = o.now ?? Date.now;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const gates = new WeakMap<Client, Gate>();
  /** clients whose CONNACK went out, until they are gone */
  const connectedClients = new Set<GatedClient>();
  /** paused clients, with when they were paused */
  const paused = new Map<GatedClient, number>();
  let shedding = false;
  let since = 0;
  let disconnectedNow = 0;
  const counts = { started: 0, paused: 0, disconnected: 0 };

  /** the measures since the last sample; `blind`: the loop-delay histogram recorded nothing */
  function sample(): ShedMeasures & { blind: boolean } {
    const blind = loopDelay.count === 0;
    const loopDelayMs = loopDelay.percentile(99) / 1e6;
    loopDelay.reset();
    return { loopDelayMs, blind, ...o.measure() };
  }

  const over = (m: ShedMeasures, ratio: number): boolean =>
    (Object.keys(o.thresholds) as (keyof ShedMeasures)[]).some(
      (k) => o.thresholds[k] > 0 && m[k] >= o.thresholds[k] * ratio,
    );

  function pause(client: GatedClient): void {
    if (paused.has(client) || !gates.has(client)) return;
    paused.set(client, now());
    counts.paused++;
    // its keepalive may be due before the next sample refreshes it: from now on, the silence is ours
    if (client._keepaliveInterval > 0) client._keepaliveTimer?.refresh();
  }

  function resumeOne(c: GatedClient): void {
    const g = gates.get(c);
    // paused again meanwhile (shedding restarted): its deferred calls wait for the next resume
    if (!g || c.closed || paused.has(c)) return;
    // at least one call, so a socket that became readable meanwhile is read
    const n = Math.max(1, g.deferred);
    g.deferred = 0;
    for (let i = 0; i < n && !paused.has(c); i++) g.next();
  }

  /** Reads the paused sockets again, RESUME_SLICE per turn of the loop: not the whole herd at once. */
  function resumeAll(): void {
    const clients = [...paused.keys()];
    paused.clear();
    let i = 0;
    const step = () => {
      const end = Math.min(clients.length, i + RESUME_SLICE);
      for (; i < end; i++) resumeOne(clients[i] as GatedClient);
      if (i < clients.length) setImmediate(step);
    };
    step();
  }

  function tick(): void {
    const m = sample();
    if (!shedding) {
      if (!over(m, 1)) return;
      shedding = true;
      since = now();
      counts.started++;
      disconnectedNow = 0;
      for (const c of connectedClients) pause(c);
      o.onStart(m);
      return;
    }
    const t = now();
    // a window in which the histogram's own 10 ms timer never fired (the loop busy throughout) reads
    // as no delay: it shows no recovery, so it never ends shedding
    if (t - since < o.minShedMs || m.blind || over(m, o.resumeRatio)) {
      const before = counts.disconnected;
      for (const [c, at] of paused) {
        if (o.disconnectAfterMs > 0 && t - at >= o.disconnectAfterMs && unread(c)) disconnect(c);
        else if (c._keepaliveInterval > 0) c._keepaliveTimer?.refresh();
      }
      if (counts.disconnected > before) o.onDisconnect?.(counts.disconnected - before);
      return;
    }
    shedding = false;
    const pausedNow = paused.size;
    resumeAll();
    o.onStop({ ...m, paused: pausedNow, disconnected: disconnectedNow, ms: t - since });
  }

  /**
   * Whether a paused client sent something not read yet: a read deferred, or bytes in its stream's
   * buffer. A client with nothing unread (an idle device, a subscriber) waits for no PUBACK and
   * stays connected.
   */
  function unread(c: GatedClient): boolean {
    return (gates.get(c)?.deferred ?? 0) > 0 || c.conn.readableLength > 0;
  }

  /** Closes a client paused too long; its deferred reads are dropped with the socket. */
  function disconnect(c: GatedClient): void {
    paused.delete(c);
    connectedClients.delete(c);
    // already closing (its clientDisconnect not yet emitted): nothing to close, nothing to count
    if (c.closed) return;
    counts.disconnected++;
    disconnectedNow++;
    c.close();
  }

  const timer = setInterval(tick, o.intervalMs);
  timer.unref();

  return {
    /** true while the broker sheds: new CONNECTs get CONNACK 3, sockets are not read */
    get shedding(): boolean {
      return shedding;
    },
    /** sockets not read now */
    get pausedNow(): number {
      return paused.size;
    },
    /** times shedding started, sockets paused (each time a socket stopped being read), clients disconnected */
    counts: counts as Readonly<typeof counts>,
    /** Puts the gate on a new connection's reader, before Aedes reads a byte of it. */
    gate(client: Client): Client {
      const c = client as GatedClient;
      // Aedes internals (1.2): test/security/load-shed.test.ts fails if an upgrade changes them
      if (typeof c._nextBatch !== "function" || !c.conn.listeners("readable").includes(c._nextBatch))
        return client;
      const g: Gate = { next: c._nextBatch, deferred: 0 };
      gates.set(c, g);
      const gated = (err?: Error | null) => {
        if (paused.has(c) && !err) g.deferred++;
        else g.next(err);
      };
      c.conn.removeListener("readable", g.next);
      c.conn.on("readable", gated);
      c._nextBatch = gated;
      return client;
    },
    /** a client whose CONNACK went out: paused with the others while shedding lasts */
    connected(client: Client): void {
      const c = client as GatedClient;
      connectedClients.add(c);
      if (shedding) pause(c);
    },
    disconnected(client: Client): void {
      const c = client as GatedClient;
      connectedClients.delete(c);
      paused.delete(c);
    },
    close(): void {
      clearInterval(timer);
      loopDelay.disable();
      if (shedding) {
        shedding = false;
        resumeAll();
      }
    },
  };
}
