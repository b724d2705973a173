import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { positionsInBox } from "../../core/live-state.ts";
import type { Redis } from "../../core/redis.ts";
import type { LiveAccess } from "../live-access.ts";
import type { LiveHub } from "../live-hub.ts";
import { type LiveLimits, MessageBudget } from "../live-limits.ts";
import { bboxTuple } from "../schemas.ts";
import type { SocketRevocations } from "../socket-revocations.ts";

const clientMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("subscribe"), bbox: bboxTuple.optional() }),
]);

/** WebSocket close code for a policy violation (RFC 6455 §7.4.1); 1013 = try again later. */
const POLICY_VIOLATION = 1008;
const TRY_AGAIN_LATER = 1013;

/** setTimeout waits at most 2^31-1 ms (24.8 days): a later expiry is waited for in steps */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Closes a socket when the credentials it was opened with end: a token's expiry (E_TOKEN_EXPIRED
 * refuses its requests from then on) or a session's absolute expiry (its cookie is refused from
 * then on). A socket makes no requests, so it is closed here. null: they never end.
 */
function closeAtExpiry(socket: { close(code: number, reason: string): void }, at: number | null) {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    if (at === null) return;
    const wait = at - Date.now();
    if (wait <= 0) socket.close(POLICY_VIOLATION, "the credentials have expired");
    else timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}

/**
 * `GET /ws`: the live map's WebSocket (session cookie or Bearer; browsers cannot set headers on
 * a WebSocket, hence the cookie). The client sends `{"type":"subscribe","bbox":[w,s,e,n]}` (no
 * bbox: every vehicle) and gets a `snapshot` of the box, then `positions` deltas (coalesced, at
 * most 10 a second) and `events`; a bad message gets an `error` and the connection stays.
 * Limits (api/live-limits.ts): Origin, sockets per process and per user, messages per minute.
 * An account limited to vehicle groups gets only its vehicles' positions and events, and an
 * `access-changed` message when what it may see changed (subscribe again for a fresh snapshot).
 */
export function liveRoutes(deps: {
  redis: Redis;
  hub: LiveHub;
  /** closes a socket when the user, token or session it was opened with is revoked */
  revocations: SocketRevocations;
  limits: LiveLimits;
  /** what each socket's account may see, kept current (api/live-access.ts) */
  access: LiveAccess;
  messagesPerMinute: number;
}) {
  const { redis, hub, limits, access } = deps;
  // read before the upgrade: the socket's first message may come at once
  const visible = new WeakMap<FastifyRequest, ReadonlySet<string> | null>();
  const loadVisible = async (req: FastifyRequest) => {
    visible.set(req, await access.vehiclesFor(req.principal?.groups ?? null));
  };
  return async (app: FastifyInstance) => {
    app.get(
      "/ws",
      {
        websocket: true,
        config: { access: "read", vehicles: "filtered" },
        schema: { hide: true },
        preHandler: [limits.admit, loadVisible],
      },
      (socket, req) => {
        const release = limits.acquire(req);
        if (!release) {
          socket.close(TRY_AGAIN_LATER, "too many live sockets");
          return;
        }
        const vehicles = visible.get(req) ?? null;
        hub.add(socket, vehicles);
        if (req.principal && req.principal.role !== "admin") access.track(socket, req.principal.owner);
        deps.revocations.track(socket, req.principal?.subjects ?? []);
        const expiry = closeAtExpiry(socket, req.principal?.expiresAt ?? null);
        const gone = () => {
          expiry.cancel();
          hub.remove(socket);
          release();
        };
        socket.on("close", gone);
        socket.on("error", gone);
        const budget = new MessageBudget(deps.messagesPerMinute);
        let closing = false;
        socket.on("message", (data, isBinary) => {
          if (closing) return;
          const verdict = budget.take();
          if (verdict === "warn") {
            hub.send(socket, {
              type: "error",
              error: `rate limit: at most ${deps.messagesPerMinute} messages a minute; slow down or be closed`,
            });
            return;
          }
          if (verdict === "close") {
            closing = true;
            limits.count("message_rate", req);
            gone();
            socket.close(POLICY_VIOLATION, "message rate limit exceeded");
            return;
          }
          if (verdict === "drop") return;
          const parsed = isBinary ? undefined : safeJson(data.toString());
          const msg = clientMessage.safeParse(parsed);
          if (!msg.success) {
            const issue = msg.error.issues[0];
            const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
            hub.send(socket, {
              type: "error",
              error:
                parsed === undefined
                  ? "message is not JSON"
                  : `${where}${issue?.message ?? "invalid message"}`,
            });
            return;
          }
          const bbox = msg.data.bbox;
          hub
            .subscribe(socket, bbox, () => positionsInBox(redis, bbox))
            .catch((err: unknown) => {
              req.log.warn({ err }, "live snapshot failed");
              hub.send(socket, { type: "error", error: "snapshot unavailable; subscribe again" });
            });
        });
      },
    );
  };
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
