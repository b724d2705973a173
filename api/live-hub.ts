import { type BBox, inBox, type LivePosition, liveKeys } from "../core/live-state.ts";
import type { Logger } from "../core/logger.ts";
import { channelOf, type Redis, redisKeys } from "../core/redis.ts";
import { markStale } from "./stale.ts";

/** What the hub needs of a WebSocket (ws.WebSocket fits). */
export interface LiveSocket {
  readonly bufferedAmount: number;
  send(data: string): void;
  terminate(): void;
}

interface Client {
  socket: LiveSocket;
  subscribed: boolean;
  /** undefined = every vehicle */
  bbox: BBox | undefined;
  /** the vehicles its account may see; null = every vehicle (api/live-access.ts refreshes it) */
  vehicles: ReadonlySet<string> | null;
  /** newest position per vehicle since the last send (coalescing) */
  pending: Map<string, LivePosition>;
  events: unknown[];
  /** set while a snapshot is read: deltas wait behind it */
  holding: boolean;
  /** the newest subscribe's read that came while one was being read */
  next: (() => Promise<LivePosition[]>) | undefined;
}

export interface LiveHubOptions {
  /** one Redis connection of its own, in subscriber mode */
  subscriber: Redis;
  log: Logger;
  /** a client with more unsent bytes than this is dropped */
  maxBufferedBytes: number;
  /** send interval; 100 ms = at most 10 messages a second per client. 0: only on flush() */
  flushMs?: number;
  /** positions with an older fix are sent marked `stale` (STALE_AFTER_SECONDS) */
  staleAfterMs: number;
  /** channel names (default the shared ones: core/live-state.ts, core/redis.ts) */
  channels?: { live: string; events: string };
}

const MAX_PENDING_EVENTS = 1000;

/**
 * Fans the Redis live channel out to the WebSocket clients. ONE subscription serves every
 * client; updates are coalesced per vehicle and sent per client at most every `flushMs`, so a
 * client sees each vehicle's newest position, not every fix. A client whose socket does not
 * drain (bufferedAmount over the cap) is dropped rather than buffered without bound.
 */
export class LiveHub {
  private readonly clients = new Map<LiveSocket, Client>();
  private timer: NodeJS.Timeout | undefined;
  readonly stats = { clients: 0, dropped: 0, messagesIn: 0, malformedIn: 0 };

  private readonly live: string;
  private readonly events: string;

  constructor(private readonly opts: LiveHubOptions) {
    this.live = opts.channels?.live ?? channelOf(opts.subscriber, liveKeys.liveChannel);
    this.events = opts.channels?.events ?? channelOf(opts.subscriber, redisKeys.eventsChannel);
  }

  async start(): Promise<void> {
    this.opts.subscriber.on("message", this.onMessage);
    await this.opts.subscriber.subscribe(this.live, this.events);
    const ms = this.opts.flushMs ?? 100;
    if (ms > 0) {
      this.timer = setInterval(() => this.flush(), ms);
      this.timer.unref();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.opts.subscriber.off("message", this.onMessage);
    // not awaited: with Redis down the command would wait for it; the owner disconnects anyway
    this.opts.subscriber.unsubscribe(this.live, this.events).catch(() => {});
    for (const c of this.clients.values()) c.socket.terminate();
    this.clients.clear();
  }

  /** `vehicles`: what the socket's account may see (null: every vehicle); checked on every send */
  add(socket: LiveSocket, vehicles: ReadonlySet<string> | null = null): void {
    this.clients.set(socket, {
      socket,
      subscribed: false,
      bbox: undefined,
      vehicles,
      pending: new Map(),
      events: [],
      holding: false,
      next: undefined,
    });
    this.stats.clients = this.clients.size;
  }

  /**
   * A socket's account may now see other vehicles: pending updates of the others are dropped and
   * a subscribed client is told (`access-changed`), so it subscribes again for a fresh snapshot.
   */
  setVehicles(socket: LiveSocket, vehicles: ReadonlySet<string> | null): void {
    const c = this.clients.get(socket);
    if (!c || sameSet(c.vehicles, vehicles)) return;
    c.vehicles = vehicles;
    if (vehicles) for (const id of c.pending.keys()) if (!vehicles.has(id)) c.pending.delete(id);
    if (c.subscribed) this.send(c, { type: "access-changed" });
  }

  remove(socket: LiveSocket): void {
    this.clients.delete(socket);
    this.stats.clients = this.clients.size;
  }

  /**
   * (Re)subscribes a client to a box and sends the snapshot `read` returns; deltas that arrive
   * meanwhile wait, and those not newer than the snapshot are dropped. One read per client at a
   * time: subscribes that come while one is read replace each other, and only the newest is read
   * next, so a client sending subscribes as fast as it can costs Redis one read at a time.
   */
  async subscribe(
    socket: LiveSocket,
    bbox: BBox | undefined,
    read: () => Promise<LivePosition[]>,
  ): Promise<void> {
    const c = this.clients.get(socket);
    if (!c) return;
    c.subscribed = true;
    c.bbox = bbox;
    c.pending.clear();
    if (c.holding) {
      c.next = read;
      return;
    }
    c.holding = true;
    try {
      let positions = await read();
      while (c.next) {
        const next = c.next;
        c.next = undefined;
        positions = await next();
      }
      if (!this.clients.has(socket)) return;
      const { vehicles } = c;
      if (vehicles) positions = positions.filter((p) => vehicles.has(p.vehicleId));
      this.send(c, { type: "snapshot", positions: markStale(positions, this.opts.staleAfterMs) });
      const seen = new Map(positions.map((p) => [p.vehicleId, p.recordedAt]));
      for (const [id, p] of c.pending) if (p.recordedAt <= (seen.get(id) ?? -1)) c.pending.delete(id);
    } finally {
      c.holding = false;
      c.next = undefined;
    }
  }

  /** Sends each client what is pending for it; called every `flushMs`. */
  flush(): void {
    for (const c of this.clients.values()) {
      if (c.holding || (c.pending.size === 0 && c.events.length === 0)) continue;
      if (c.pending.size > 0) {
        const positions = [...c.pending.values()];
        c.pending.clear();
        if (!this.send(c, { type: "positions", positions: markStale(positions, this.opts.staleAfterMs) }))
          continue;
      }
      if (c.events.length > 0) {
        const events = c.events;
        c.events = [];
        this.send(c, { type: "events", events });
      }
    }
  }

  /** Sends to one client unless it is too far behind; returns false when it was dropped. */
  send(c: Client | LiveSocket, msg: unknown): boolean {
    const client = "socket" in c ? c : this.clients.get(c);
    if (!client) return false;
    if (client.socket.bufferedAmount > this.opts.maxBufferedBytes) {
      this.stats.dropped++;
      this.opts.log.warn({ buffered: client.socket.bufferedAmount }, "live client too slow: dropped");
      this.remove(client.socket);
      client.socket.terminate();
      return false;
    }
    client.socket.send(JSON.stringify(msg));
    return true;
  }

  private readonly onMessage = (channel: string, raw: string): void => {
    if (channel !== this.live && channel !== this.events) return;
    let items: unknown;
    try {
      items = JSON.parse(raw);
    } catch {
      this.stats.malformedIn++;
      return;
    }
    this.stats.messagesIn++;
    const list = Array.isArray(items) ? items : [items];
    if (channel === this.live) this.fanOutPositions(list as LivePosition[]);
    else this.fanOutEvents(list);
  };

  private fanOutPositions(positions: LivePosition[]): void {
    for (const c of this.clients.values()) {
      if (!c.subscribed) continue;
      for (const p of positions) {
        if (typeof p?.vehicleId !== "string" || (c.bbox && !inBox(p, c.bbox))) continue;
        if (c.vehicles && !c.vehicles.has(p.vehicleId)) continue;
        const cur = c.pending.get(p.vehicleId);
        if (!cur || cur.recordedAt < p.recordedAt) c.pending.set(p.vehicleId, p);
      }
    }
  }

  /**
   * Events (core/events.ts) with a position go to the clients whose box holds it; alerts and
   * unlocated ones to every subscriber. A client limited to some vehicles gets only events naming one of them.
   */
  private fanOutEvents(events: unknown[]): void {
    for (const c of this.clients.values()) {
      if (!c.subscribed) continue;
      for (const e of events) {
        const at = e as { type?: unknown; lat?: unknown; lng?: unknown; vehicleId?: unknown };
        if (c.vehicles && !(typeof at.vehicleId === "string" && c.vehicles.has(at.vehicleId))) continue;
        // an alert is for whoever watches the fleet, wherever the vehicle is (the UI's toast)
        const located = at.type !== "alert" && typeof at.lat === "number" && typeof at.lng === "number";
        if (c.bbox && located && !inBox(at as { lat: number; lng: number }, c.bbox)) continue;
        if (c.events.length < MAX_PENDING_EVENTS) c.events.push(e);
      }
    }
  }
}

function sameSet(a: ReadonlySet<string> | null, b: ReadonlySet<string> | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
