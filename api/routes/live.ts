import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { positionsInBox } from "../../core/live-state.ts";
import type { Redis } from "../../core/redis.ts";
import type { LiveHub } from "../live-hub.ts";
import { bboxTuple } from "../schemas.ts";
import type { SocketRevocations } from "../socket-revocations.ts";

const clientMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("subscribe"), bbox: bboxTuple.optional() }),
]);

/**
 * `GET /ws`: the live map's WebSocket (session cookie or Bearer; browsers cannot set headers on
 * a WebSocket, hence the cookie). The client sends `{"type":"subscribe","bbox":[w,s,e,n]}` (no
 * bbox: every vehicle) and gets a `snapshot` of the box, then `positions` deltas (coalesced, at
 * most 10 a second) and `events`; a bad message gets an `error` and the connection stays.
 */
export function liveRoutes(deps: { redis: Redis; hub: LiveHub; revocations: SocketRevocations }) {
  const { redis, hub } = deps;
  return async (app: FastifyInstance) => {
    app.get("/ws", { websocket: true, config: { access: "read" }, schema: { hide: true } }, (socket, req) => {
      hub.add(socket);
      // closed when the user, token or session it was opened with is revoked
      deps.revocations.track(socket, req.principal?.subjects ?? []);
      socket.on("close", () => hub.remove(socket));
      socket.on("error", () => hub.remove(socket));
      socket.on("message", (data, isBinary) => {
        const parsed = isBinary ? undefined : safeJson(data.toString());
        const msg = clientMessage.safeParse(parsed);
        if (!msg.success) {
          const issue = msg.error.issues[0];
          const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
          hub.send(socket, {
            type: "error",
            error:
              parsed === undefined ? "message is not JSON" : `${where}${issue?.message ?? "invalid message"}`,
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
    });
  };
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
