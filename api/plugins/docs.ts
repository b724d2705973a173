import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { jsonSchemaTransform } from "fastify-type-provider-zod";
import { errorSchema } from "../errors.ts";

export const DOCS_PATH = "/docs";

/**
 * OpenAPI generated from the routes' zod schemas (never written by hand), served at /docs to a
 * logged-in viewer or admin (the session cookie works in a browser), to anyone with DOCS_PUBLIC.
 * Every route that is not public documents the refusals api/plugins/auth.ts answers before the
 * route runs (401: no or bad credentials; 403: a role or device key that may not), with the API's
 * one error body; a route's own 401 or 403 schema, where it has one, is kept.
 */
export async function registerDocs(app: FastifyInstance, opts: { public: boolean }): Promise<void> {
  app.addHook("onRoute", (route) => {
    if (route.url.startsWith(DOCS_PATH)) {
      route.config = { ...route.config, access: opts.public ? "public" : "read", vehicles: "none" };
      return;
    }
    const access = (route.config as { access?: string } | undefined)?.access ?? "write";
    if (access === "public" || !route.schema) return;
    const response = { ...((route.schema.response ?? {}) as Record<string, unknown>) };
    response[401] ??= errorSchema;
    response[403] ??= errorSchema;
    route.schema = { ...route.schema, response };
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: "Logitrack API",
        version: "1.0.0",
        description:
          "Fleet telematics: vehicles, live positions, history, geofences, HTTP ingest. " +
          "Authenticate with the session cookie (POST /api/auth/login) or `Authorization: Bearer <token>`; " +
          "HTTP ingest with the vehicle's device credentials (HTTP Basic).",
      },
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer" },
          cookie: { type: "apiKey", in: "cookie", name: "lt_session" },
          device: { type: "http", scheme: "basic" },
        },
      },
      security: [{ bearer: [] }, { cookie: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PATH, staticCSP: true });
}
