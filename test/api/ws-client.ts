import WebSocket from "ws";
import { waitFor } from "../support/wait.ts";

export interface LiveMessage {
  type: string;
  positions?: { vehicleId: string; lat: number; lng: number; recordedAt: number; stale?: boolean }[];
  events?: unknown[];
  error?: string;
}

/** A WebSocket client that keeps every message it receives, for assertions. */
export interface TestWs {
  socket: WebSocket;
  messages: LiveMessage[];
  send(msg: unknown): void;
  /** resolves with the first message (from index `from` on) that matches */
  next(match: (m: LiveMessage) => boolean, from?: number, what?: string): Promise<LiveMessage>;
  closed: Promise<number>;
  close(): void;
}

export function openWs(url: string, headers: Record<string, string> = {}): Promise<TestWs> {
  const socket = new WebSocket(url, { headers });
  const messages: LiveMessage[] = [];
  socket.on("message", (data) => messages.push(JSON.parse(data.toString()) as LiveMessage));
  const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    socket.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    socket.once("error", reject);
    socket.once("open", () =>
      resolve({
        socket,
        messages,
        send: (msg) => socket.send(typeof msg === "string" ? msg : JSON.stringify(msg)),
        async next(match, from = 0, what = "message") {
          const found = await waitFor(
            async () => messages.slice(from).find(match),
            (m) => m !== undefined,
            { what, timeoutMs: 30_000, intervalMs: 20 },
          );
          return found as LiveMessage;
        },
        closed,
        close: () => socket.close(),
      }),
    );
  });
}
