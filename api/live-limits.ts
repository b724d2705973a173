import type { FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "../core/logger.ts";
import { sendError } from "./errors.ts";

/** Why /ws refused a socket or closed one (the label of logitrack_ws_refused_total). */
export const LIVE_REFUSALS = ["origin", "sockets", "sockets_per_user", "message_rate"] as const;
export type LiveRefusal = (typeof LIVE_REFUSALS)[number];

export interface LiveLimitOptions {
  /** origins besides the API's own that may open /ws (CORS_ORIGINS) */
  allowedOrigins: readonly string[];
  /** sockets this process holds (WS_MAX_SOCKETS) */
  maxSockets: number;
  /** sockets per user or API token (WS_MAX_SOCKETS_PER_USER) */
  maxSocketsPerUser: number;
  log: Logger;
}

/**
 * Who may open a live socket, and how many: the caps are counted per process (each API replica
 * holds its own sockets, so its own memory is what they protect). A page on another site
 * carrying the viewer's cookie (cross-site WebSocket hijacking) is refused by its Origin; a
 * client that sends no Origin is not a browser and authenticates like any API client.
 */
export class LiveLimits {
  private total = 0;
  private readonly perUser = new Map<string, number>();
  readonly refused = Object.fromEntries(LIVE_REFUSALS.map((r) => [r, 0])) as Record<LiveRefusal, number>;

  constructor(private readonly opts: LiveLimitOptions) {}

  /** The upgrade's preHandler: answers 403, 429 or 503 with a reason when the socket may not open. */
  readonly admit = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const origin = req.headers.origin;
    if (!originAllowed(origin, req.host, this.opts.allowedOrigins)) {
      this.count("origin", req, { origin });
      return sendError(reply, "E_FORBIDDEN", `origin ${origin} may not open /ws (CORS_ORIGINS lists others)`);
    }
    if (this.total >= this.opts.maxSockets) {
      this.count("sockets", req);
      return sendError(
        reply,
        "E_UNAVAILABLE",
        `this API process holds its maximum of ${this.opts.maxSockets} live sockets (WS_MAX_SOCKETS); retry later`,
      );
    }
    if ((this.perUser.get(userKey(req)) ?? 0) >= this.opts.maxSocketsPerUser) {
      this.count("sockets_per_user", req);
      return sendError(
        reply,
        "E_RATE_LIMITED",
        `at most ${this.opts.maxSocketsPerUser} live sockets per user or token (WS_MAX_SOCKETS_PER_USER)`,
      );
    }
    return undefined;
  };

  /**
   * Takes the socket's slot once it is open; undefined when the caps filled up since `admit` (the
   * caller closes it). The returned release is idempotent.
   */
  acquire(req: FastifyRequest): (() => void) | undefined {
    const key = userKey(req);
    const mine = this.perUser.get(key) ?? 0;
    if (this.total >= this.opts.maxSockets || mine >= this.opts.maxSocketsPerUser) {
      this.count(this.total >= this.opts.maxSockets ? "sockets" : "sockets_per_user", req);
      return undefined;
    }
    this.total++;
    this.perUser.set(key, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perUser.get(key) ?? 1) - 1;
      if (left > 0) this.perUser.set(key, left);
      else this.perUser.delete(key);
    };
  }

  count(reason: LiveRefusal, req: FastifyRequest, extra: Record<string, unknown> = {}): void {
    this.refused[reason]++;
    this.opts.log.warn({ reason, user: userKey(req), ip: req.ip, ...extra }, "live socket refused");
  }
}

/** The same origin as the request's Host (X-Forwarded-Host with TRUST_PROXY), one listed, or none at all. */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowed: readonly string[],
): boolean {
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false; // "null" (a sandboxed frame, a file) and garbage
  }
}

function userKey(req: FastifyRequest): string {
  const p = req.principal;
  return p ? `${p.kind}:${p.name}` : `ip:${req.ip}`;
}

/**
 * A socket's message budget per fixed window: over it, messages are not handled (the first
 * such gets told once); twice over it, the client is abusing, and is closed.
 */
export class MessageBudget {
  private windowStart = Number.NEGATIVE_INFINITY;
  private used = 0;

  constructor(
    private readonly perWindow: number,
    private readonly windowMs = 60_000,
  ) {}

  take(now = Date.now()): "ok" | "warn" | "drop" | "close" {
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.used = 0;
    }
    this.used++;
    if (this.used <= this.perWindow) return "ok";
    if (this.used === this.perWindow + 1) return "warn";
    return this.used > 2 * this.perWindow ? "close" : "drop";
  }
}
