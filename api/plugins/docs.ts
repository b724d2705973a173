import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { jsonSchemaTransform } from "fastify-type-provider-zod";

export const DOCS_PATH = "/docs";

/** OpenAPI generated from the routes' zod schemas (never written by hand), served at /docs. */
export async function registerDocs(app: FastifyInstance): Promise<void> {
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
