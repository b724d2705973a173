import type { Server, Socket } from "node:net";
import { addressKey } from "./address-key.ts";
import type { Logger } from "./logger.ts";

export interface ConnectionGuardOptions {
  /** open TCP connections at once from one address (addressKey: IPv6 by /64); 0 = no cap */
  maxPerAddress: number;
  /** open TCP connections at once on all the guarded servers together; 0 = no cap */
  maxTotal: number;
  log: Logger;
  /** called once per refused connection, with why */
  onRefuse?: (reason: "address" | "total") => void;
}

/**
 * Caps open TCP connections per source address and in total, counted when a connection is
 * accepted, before it has sent a byte. The connect-rate limits count CONNECT packets and HTTP
 * requests; a peer that opens connections and sends nothing passes both, and enough of them use up
 * the process's file descriptors, so no device connects and the API answers nobody. A refused
 * connection is destroyed at once (the peer sees a reset); every guarded server of one process
 * shares the counts, so 1883, 8883 and 8083 are one budget.
 */
export function createConnectionGuard(o: ConnectionGuardOptions) {
  const open = new Map<string, number>();
  let total = 0;
  const refused = { address: 0, total: 0 };
  // one warning a second at most, whatever the number of addresses a flood comes from
  let warnedAt = 0;

  const admit = (socket: Socket): void => {
    const key = addressKey(socket.remoteAddress);
    const mine = open.get(key) ?? 0;
    const reason =
      o.maxPerAddress > 0 && mine >= o.maxPerAddress
        ? "address"
        : o.maxTotal > 0 && total >= o.maxTotal
          ? "total"
          : undefined;
    if (reason) {
      refused[reason]++;
      o.onRefuse?.(reason);
      const now = Date.now();
      if (now - warnedAt >= 1000) {
        warnedAt = now;
        o.log.warn(
          { address: key, open: mine, total, reason, refused },
          "connection refused: too many open connections",
        );
      }
      socket.destroy();
      return;
    }
    open.set(key, mine + 1);
    total++;
    socket.once("close", () => {
      total--;
      const left = (open.get(key) ?? 1) - 1;
      if (left <= 0) open.delete(key);
      else open.set(key, left);
    });
  };

  return {
    refused,
    /** open connections now, for tests and metrics */
    get open(): number {
      return total;
    },
    /** Guards `server`: runs before the server's own connection handling. */
    guard(server: Server): void {
      server.prependListener("connection", admit);
    },
  };
}

export type ConnectionGuard = ReturnType<typeof createConnectionGuard>;
