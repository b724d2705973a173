import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { z } from "zod";

/** The one error body of the API: `{statusCode, error, message}` plus details where useful. */
export const errorSchema = z
  .object({
    statusCode: z.number().int(),
    error: z.string(),
    message: z.string(),
    field: z.string().optional().describe("the request field a 400 is about, e.g. `body.id`"),
  })
  .passthrough();

const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  413: "Payload Too Large",
  422: "Unprocessable Entity",
  428: "Precondition Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export function sendError(
  reply: FastifyReply,
  statusCode: number,
  message: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply
    .code(statusCode)
    .send({ statusCode, error: REASONS[statusCode] ?? "Error", message, ...extra });
}

/**
 * Validation failures answer 400 naming the field (`querystring.limit: Too big …`); other client
 * errors keep their status and message; server errors are logged and answered without detail.
 */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const first = err.validation[0];
      const path = first?.instancePath.replace(/^\//, "").replaceAll("/", ".") ?? "";
      const field = [err.validationContext, path].filter(Boolean).join(".");
      return sendError(reply, 400, `${field}: ${first?.message ?? "invalid"}`, { field });
    }
    const status = err.statusCode ?? 500;
    if (status < 500) return sendError(reply, status, err.message);
    req.log.error({ err }, "request failed");
    return sendError(reply, status, status === 503 ? err.message : "internal error");
  });
}
