import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { jsonSchemaTransform } from "fastify-type-provider-zod";

export const DOCS_PATH = "/docs";

/**
 * OpenAPI generated from the routes' zod schemas (never written by hand), served at /docs to a
 * logged-in viewer or admin (the session cookie works in a browser), to anyone with DOCS_PUBLIC.
 */
export async function registerDocs(app: FastifyInstance, opts: { public: boolean }): Promise<void> {
  app.addHook("onRoute", (route) => {
    if (route.url.startsWith(DOCS_PATH))
      route.config = { ...route.config, access: opts.public ? "public" : "read", vehicles: "none" };
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
