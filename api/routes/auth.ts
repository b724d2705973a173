import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import { createAccountAdmin } from "../../core/account-admin.ts";
import { findToken } from "../../core/api-tokens.ts";
import { publishAuthRevoked } from "../../core/auth-revocations.ts";
import type { Config } from "../../core/config.ts";
import type { Redis } from "../../core/redis.ts";
import { ROLES, verifyUser } from "../../core/users.ts";
import { errorSchema, sendError } from "../errors.ts";
import type { LoginBackoff } from "../login-backoff.ts";
import { authenticate } from "../plugins/auth.ts";
import { createSession, deleteSession, type Principal, SESSION_COOKIE } from "../sessions.ts";

const loginBody = z.union([
  z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) }),
  z.object({ token: z.string().min(16).max(512) }),
]);

const sessionSchema = z.object({
  name: z.string(),
  role: z.enum(ROLES),
  expiresAt: z.string().optional(),
});

/**
 * Login/logout for the UI: an HttpOnly, SameSite=Strict session cookie; `me` says who is logged in.
 * Logins are limited per client address (LOGIN_RATE_LIMIT, the address the trusted proxy saw) and
 * back off per account after failures (api/login-backoff.ts); both are counted in Redis, so every
 * API replica sees the same attempts.
 */
export function authRoutes(deps: {
  pool: pg.Pool;
  redis: Redis;
  config: Pick<Config, "SESSION_TTL_HOURS" | "LOGIN_RATE_LIMIT" | "SESSION_IDLE_MINUTES">;
  backoff: LoginBackoff;
}): FastifyPluginAsyncZod {
  const { pool, redis, config, backoff } = deps;
  const accounts = createAccountAdmin({ pool, redis });
  const clearCookie = (reply: FastifyReply) =>
    reply.clearCookie(SESSION_COOKIE, { path: "/", httpOnly: true, sameSite: "strict", secure: "auto" });
  const rateLimit = {
    max: config.LOGIN_RATE_LIMIT,
    timeWindow: 60_000,
    onExceeded: (req: { ip: string; log: { warn(o: object, m: string): void } }) => {
      backoff.refused("address");
      req.log.warn({ ip: req.ip }, "login refused: per-address limit");
    },
  };
  return async (app) => {
    app.post(
      "/api/auth/login",
      {
        config: { access: "public", rateLimit, rateLimitShared: true },
        schema: {
          tags: ["auth"],
          summary: "log in with a user's password or an API token; sets the session cookie",
          body: loginBody,
          response: { 200: sessionSchema, 401: errorSchema, 429: errorSchema },
        },
      },
      async (req, reply) => {
        const body = req.body;
        let owner: { userId: number } | { tokenId: number };
        let who: { name: string; role: (typeof ROLES)[number] };
        // audited either way (api/audit-hook.ts): the route is rate limited per address
        req.audit.actor = "anonymous";
        req.audit.entity = "sessions";
        if ("token" in body) {
          const token = await findToken(pool, body.token);
          if (!token) return sendError(reply, "E_LOGIN_FAILED", "unknown token");
          if (token.expired) return sendError(reply, "E_TOKEN_EXPIRED");
          owner = { tokenId: token.id };
          who = token;
        } else {
          req.audit.params = { username: body.username };
          const waitMs = await backoff.remainingMs(body.username);
          if (waitMs > 0) {
            backoff.refused("account");
            req.log.warn({ username: body.username, waitMs }, "login refused: account backs off");
            reply.header("retry-after", Math.ceil(waitMs / 1000));
            return sendError(reply, "E_LOGIN_BACKOFF");
          }
          const user = await verifyUser(pool, body.username, body.password);
          if (!user) {
            await backoff.failed(body.username);
            return sendError(reply, "E_LOGIN_FAILED");
          }
          await backoff.succeeded(body.username);
          owner = { userId: user.id };
          who = { name: user.username, role: user.role };
        }
        req.audit.actor = `${"token" in body ? "token" : "user"}:${who.name}`;
        const session = await createSession(pool, owner, config.SESSION_TTL_HOURS);
        reply.setCookie(SESSION_COOKIE, session.value, {
          httpOnly: true,
          sameSite: "strict",
          secure: "auto",
          path: "/",
          expires: session.expiresAt,
        });
        req.log.info({ name: who.name, role: who.role }, "logged in");
        return { name: who.name, role: who.role, expiresAt: session.expiresAt.toISOString() };
      },
    );

    app.post(
      "/api/auth/logout",
      {
        config: { access: "public" },
        schema: { tags: ["auth"], summary: "end the session of this cookie", response: { 204: z.null() } },
      },
      async (req, reply) => {
        const value = req.cookies[SESSION_COOKIE];
        if (value && value.length <= 128) {
          const { subject, owner } = await deleteSession(pool, value);
          // an audit row names who logged out; an unknown cookie changed nothing and is none
          if (owner) req.audit.actor = owner;
          // its open live sockets end with it; logging out works while Redis restarts, like logging in
          await publishAuthRevoked(redis, [subject]).catch((err: unknown) =>
            req.log.warn({ err }, "logout: live sockets of the session not told to close (Redis)"),
          );
        }
        clearCookie(reply);
        return reply.code(204).send(null);
      },
    );

    app.post(
      "/api/auth/logout-all",
      {
        config: { access: "read", vehicles: "none" },
        schema: {
          tags: ["auth"],
          summary:
            "log out everywhere: end every session of this user (or opened with this token) and their live sockets",
          response: { 200: z.object({ sessions: z.number().int() }) },
        },
      },
      async (req, reply) => {
        const principal = req.principal as Principal;
        const sessions = await accounts.endSessions(principal.owner);
        req.log.info({ name: principal.name, sessions }, "logged out everywhere");
        clearCookie(reply);
        return { sessions };
      },
    );

    app.get(
      "/api/auth/me",
      {
        config: { access: "read", vehicles: "none" },
        schema: {
          tags: ["auth"],
          summary: "who this request is authenticated as",
          response: { 200: sessionSchema },
        },
      },
      async (req) => ({ name: req.principal?.name ?? "", role: req.principal?.role ?? "viewer" }),
    );

    // the web app's first question: a 200 either way, so a logged-out visitor's browser logs no
    // failed request (/api/auth/me answers 401 then, as every authenticated route does)
    app.get(
      "/api/auth/session",
      {
        config: { access: "public" },
        schema: {
          tags: ["auth"],
          summary: "who this request is authenticated as, or null: not logged in (never a 401)",
          response: { 200: z.object({ session: sessionSchema.nullable() }) },
        },
      },
      async (req, reply) => {
        reply.header("cache-control", "no-store");
        const p = await authenticate(pool, req, config.SESSION_IDLE_MINUTES);
        return { session: p ? { name: p.name, role: p.role } : null };
      },
    );
  };
}
