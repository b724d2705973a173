import { useCallback, useEffect, useRef, useState } from "react";
import type { AlertMessage } from "./alerts-api.ts";
import type { FleetEvent, LivePosition, PresenceEvent } from "./api.ts";
import { FleetStore } from "./fleet-store.ts";

/** [west, south, east, north] in degrees, west < east. */
export type BBox = [number, number, number, number];

export type ConnectionState = "connecting" | "live" | "reconnecting";

export interface LiveFleet {
  store: FleetStore;
  state: ConnectionState;
  /** when the next reconnect attempt is due (epoch ms), while reconnecting */
  retryAt: number | undefined;
  /** newest first, at most MAX_EVENTS */
  events: FleetEvent[];
  /** alert phases that arrived while the page is open, newest first, at most MAX_EVENTS */
  alerts: AlertMessage[];
  /** while reconnecting: try now instead of waiting out the backoff */
  retryNow: () => void;
}

type ServerMessage =
  | { type: "snapshot"; positions: LivePosition[] }
  | { type: "positions"; positions: LivePosition[] }
  | { type: "events"; events: (FleetEvent | AlertMessage | PresenceEvent)[] }
  | { type: "error"; error: string };

const MAX_EVENTS = 200;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/**
 * The live WebSocket: subscribe to `bbox`, take the `snapshot`, then apply `positions` deltas.
 * `bbox` null (the map has not measured itself yet) connects without subscribing: the API
 * would take a subscribe without a box as "every vehicle". Messages are merged as they arrive (newest per vehicle) and applied to the store at most once
 * per animation frame, however fast they come. A dropped connection reconnects with capped,
 * jittered exponential backoff; every (re)subscribe brings a fresh snapshot. `onAuthLost` is
 * called when the server refuses the upgrade because the session is gone.
 */
export function useLiveFleet(bbox: BBox | null, onAuthLost: () => void): LiveFleet {
  const [store] = useState(() => new FleetStore());
  const [state, setState] = useState<ConnectionState>("connecting");
  const [retryAt, setRetryAt] = useState<number | undefined>();
  const [events, setEvents] = useState<FleetEvent[]>([]);
  const [alerts, setAlerts] = useState<AlertMessage[]>([]);
  const socketRef = useRef<WebSocket | undefined>(undefined);
  const bboxRef = useRef(bbox);
  const authLostRef = useRef(onAuthLost);
  authLostRef.current = onAuthLost;
  const retryRef = useRef<() => void>(() => {});

  useEffect(() => {
    let closed = false;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let frame: number | undefined;
    // pending work for the next frame: a snapshot discards the deltas that came before it
    let snapshot: LivePosition[] | undefined;
    const deltas = new Map<string, LivePosition>();
    let newEvents: FleetEvent[] = [];
    let newAlerts: AlertMessage[] = [];

    const flush = () => {
      frame = undefined;
      if (snapshot || deltas.size > 0) store.apply(snapshot, deltas.values());
      snapshot = undefined;
      deltas.clear();
      if (newEvents.length > 0) {
        const fresh = newEvents.reverse();
        newEvents = [];
        setEvents((old) => [...fresh, ...old].slice(0, MAX_EVENTS));
      }
      if (newAlerts.length > 0) {
        const fresh = newAlerts.reverse();
        newAlerts = [];
        setAlerts((old) => [...fresh, ...old].slice(0, MAX_EVENTS));
      }
    };
    const schedule = () => {
      frame ??= requestAnimationFrame(flush);
    };

    const onMessage = (ev: MessageEvent) => {
      const msg = JSON.parse(String(ev.data)) as ServerMessage;
      if (msg.type === "snapshot") {
        snapshot = msg.positions;
        deltas.clear();
        attempt = 0;
      } else if (msg.type === "positions") {
        for (const p of msg.positions) {
          const cur = deltas.get(p.vehicleId);
          if (!cur || cur.recordedAt <= p.recordedAt) deltas.set(p.vehicleId, p);
        }
      } else if (msg.type === "events") {
        // alert phases and presence changes ride in the same messages (core/events.ts): the feed
        // shows geofence events, the toasts and the inbox the alerts, the vehicle list presence
        const presence: PresenceEvent[] = [];
        for (const e of msg.events) {
          if (e.type === "geofence") newEvents.push(e);
          else if (e.type === "alert") newAlerts.push(e);
          else if (e.type === "presence") presence.push(e);
        }
        if (presence.length > 0)
          store.applyPresence(
            presence.map((e) => ({ vehicleId: e.vehicleId, online: e.kind === "online", at: e.at })),
          );
        if (newEvents.length > MAX_EVENTS) newEvents = newEvents.slice(-MAX_EVENTS);
        if (newAlerts.length > MAX_EVENTS) newAlerts = newAlerts.slice(-MAX_EVENTS);
      } else if (msg.type === "error") {
        console.warn("live socket:", msg.error);
        // the server could not read the snapshot (Redis busy or restarting): ask again shortly
        if (/subscribe again/.test(msg.error)) {
          const ws = socketRef.current;
          timer = setTimeout(
            () => ws?.readyState === WebSocket.OPEN && sendSubscribe(ws, bboxRef.current),
            1000,
          );
        }
        return;
      }
      schedule();
    };

    const connect = () => {
      if (closed) return;
      const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
      const ws = new WebSocket(url);
      socketRef.current = ws;
      let opened = false;
      ws.onopen = () => {
        opened = true;
        setState("live");
        setRetryAt(undefined);
        sendSubscribe(ws, bboxRef.current);
      };
      ws.onmessage = onMessage;
      ws.onclose = () => {
        if (socketRef.current === ws) socketRef.current = undefined;
        if (closed) return;
        // a refused upgrade (401) looks like any failed connect: ask the API whether we are still in
        if (!opened) void checkSession(() => authLostRef.current());
        const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
        attempt++;
        setState("reconnecting");
        setRetryAt(Date.now() + delay);
        timer = setTimeout(connect, delay);
      };
    };
    connect();
    retryRef.current = () => {
      if (closed || socketRef.current) return;
      clearTimeout(timer);
      setRetryAt(undefined);
      setState("connecting");
      connect();
    };

    return () => {
      closed = true;
      clearTimeout(timer);
      if (frame !== undefined) cancelAnimationFrame(frame);
      socketRef.current?.close();
      socketRef.current = undefined;
    };
  }, [store]);

  // a new view re-subscribes (the server answers with a snapshot of the new box)
  useEffect(() => {
    bboxRef.current = bbox;
    const ws = socketRef.current;
    if (ws?.readyState === WebSocket.OPEN) sendSubscribe(ws, bbox);
  }, [bbox]);

  const retryNow = useCallback(() => retryRef.current(), []);
  return { store, state, retryAt, events, alerts, retryNow };
}

function sendSubscribe(ws: WebSocket, bbox: BBox | null): void {
  if (bbox) ws.send(JSON.stringify({ type: "subscribe", bbox }));
}

async function checkSession(onLost: () => void): Promise<void> {
  try {
    const res = await fetch("/api/auth/me", { credentials: "same-origin" });
    if (res.status === 401) onLost();
  } catch {
    // the server is down: keep retrying the socket
  }
}
