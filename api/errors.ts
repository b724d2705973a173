import { STATUS_CODES } from "node:http";
import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { z } from "zod";
import { API_ERROR_CODES, API_ERRORS, type ApiErrorCode, codeForStatus } from "./error-catalogue.ts";

/** The one error body of the API: `{statusCode, code, error, message}` plus details where useful. */
export const errorSchema = z
  .object({
    statusCode: z.number().int(),
    code: z
      .enum(API_ERROR_CODES)
      .describe("stable: branch on it (api/error-catalogue.ts), not on the message"),
    error: z.string().describe("the HTTP reason phrase"),
    message: z.string(),
    field: z.string().optional().describe("the request field a 400 is about, e.g. `body.id`"),
  })
  .passthrough();

function send(
  reply: FastifyReply,
  statusCode: number,
  code: ApiErrorCode,
  message: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply
    .code(statusCode)
    .send({ statusCode, code, error: STATUS_CODES[statusCode] ?? "Error", message, ...extra });
}

/** Answers a catalogue error with its status; `message` replaces the default one to add detail. */
export function sendError(
  reply: FastifyReply,
  code: ApiErrorCode,
  message?: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  const entry = API_ERRORS[code];
  return send(reply, entry.status, code, message ?? entry.message, extra);
}

/** The 404 of a method and path no route answers, worded as Fastify's own. */
export function sendRouteNotFound(reply: FastifyReply, method: string, url: string): FastifyReply {
  return sendError(reply, "E_ROUTE_NOT_FOUND", `Route ${method}:${url} not found`);
}

/** SQLSTATE query_canceled: statement_timeout (api/db-pool.ts), or an operator's pg_cancel_backend. */
const QUERY_CANCELED = "57014";

/**
 * SQLSTATEs of text PostgreSQL cannot store: a NUL character (`\u0000`) in a text column (22021) or
 * in jsonb (22P05). A client sent it, so it is the client's error, not the server's.
 */
const UNSTORABLE_TEXT = new Set(["22021", "22P05"]);

/** What the error handler counts, for /metrics. */
export interface ErrorCounters {
  queryTimeouts: number;
}

/**
 * Validation failures answer 400 naming the field (`querystring.limit: Too big …`); other client
 * errors (Fastify's and plugins': bad JSON, 413, 415, rate limit) keep their status and message and
 * get the code of their status; a query PostgreSQL cancelled at the statement timeout answers 503
 * E_QUERY_TIMEOUT; other server errors are logged and answered without detail.
 */
export function registerErrorHandler(
  app: FastifyInstance,
  counters: ErrorCounters = { queryTimeouts: 0 },
): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.code === QUERY_CANCELED) {
      counters.queryTimeouts++;
      req.log.warn({ url: req.url, err: err.message }, "query cancelled at the statement timeout");
      return sendError(reply, "E_QUERY_TIMEOUT");
    }
    if (UNSTORABLE_TEXT.has(err.code)) {
      req.log.info({ url: req.url, err: err.message }, "request refused: text PostgreSQL cannot store");
      return sendError(reply, "E_VALIDATION", "text must not contain NUL characters (\\u0000)");
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const first = err.validation[0];
      const path = first?.instancePath.replace(/^\//, "").replaceAll("/", ".") ?? "";
      const field = [err.validationContext, path].filter(Boolean).join(".");
      return sendError(reply, "E_VALIDATION", `${field}: ${first?.message ?? "invalid"}`, { field });
    }
    const status = err.statusCode ?? 500;
    if (status < 500) return send(reply, status, codeForStatus(status), err.message);
    req.log.error({ err }, "request failed");
    return send(
      reply,
      status,
      codeForStatus(status),
      status === 503 ? err.message : API_ERRORS.E_INTERNAL.message,
    );
  });
  app.setNotFoundHandler((req, reply) => sendRouteNotFound(reply, req.method, req.url));
}
