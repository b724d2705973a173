import { subscribeAuthRevoked } from "../core/auth-revocations.ts";
import type { Logger } from "../core/logger.ts";
import type { Redis } from "../core/redis.ts";

/** What revocation needs of a WebSocket (ws.WebSocket fits). */
export interface RevocableSocket {
  close(code: number, reason: string): void;
  once(event: "close", listener: () => void): unknown;
}

/** WebSocket close code 1008, policy violation: the credentials it was opened with are revoked */
export const REVOKED_CLOSE_CODE = 1008;

/**
 * The open sockets of this API node by the subjects that authenticated them (a user, a token, a
 * session: core/auth-revocations.ts). A socket is authenticated once, at its upgrade; when any
 * node or the CLI announces a subject revoked, every node closes that subject's sockets here.
 */
export function createSocketRevocations(deps: { subscriber: Redis; log: Logger }) {
  const bySubject = new Map<string, Set<RevocableSocket>>();
  let unsubscribe: (() => Promise<void>) | undefined;
  const stats = { closed: 0 };

  function forget(socket: RevocableSocket, subjects: string[]): void {
    for (const s of subjects) {
      const set = bySubject.get(s);
      if (set?.delete(socket) && set.size === 0) bySubject.delete(s);
    }
  }

  function revoke(subjects: string[]): void {
    const sockets = new Set<RevocableSocket>();
    for (const s of subjects) for (const socket of bySubject.get(s) ?? []) sockets.add(socket);
    for (const socket of sockets) socket.close(REVOKED_CLOSE_CODE, "credentials revoked");
    stats.closed += sockets.size;
    if (sockets.size > 0) deps.log.info({ subjects, sockets: sockets.size }, "revoked: sockets closed");
  }

  return {
    stats,
    async start(): Promise<void> {
      unsubscribe = await subscribeAuthRevoked(deps.subscriber, deps.log, revoke);
    },
    stop(): void {
      // not awaited: with Redis down the command would wait for it; the owner disconnects anyway
      unsubscribe?.().catch(() => {});
    },
    /** Registers an open socket under the subjects it was authenticated by, until it closes. */
    track(socket: RevocableSocket, subjects: string[]): void {
      for (const s of subjects) {
        const set = bySubject.get(s) ?? new Set<RevocableSocket>();
        bySubject.set(s, set);
        set.add(socket);
      }
      socket.once("close", () => forget(socket, subjects));
    },
    revoke,
  };
}

export type SocketRevocations = ReturnType<typeof createSocketRevocations>;
