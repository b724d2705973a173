import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyInstance } from "fastify";
import { serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import { registerErrorHandler } from "../../api/errors.ts";
import { registerAuth } from "../../api/plugins/auth.ts";
import { commandRoutes } from "../../api/routes/commands.ts";
import { owntracksRoutes } from "../../api/routes/owntracks.ts";
import { addToken } from "../../core/api-tokens.ts";
import { createRedis } from "../../core/redis.ts";
import type { TestPlatform } from "../support/platform.ts";

export interface ProtocolApi {
  app: FastifyInstance;
  admin: { authorization: string };
  viewer: { authorization: string };
  close(): Promise<void>;
}

/**
 * The command and OwnTracks HTTP routes on the platform's database, Redis and bridge, with the
 * API's own auth plugin and error handler: the same plugins api/app.ts registers, without the
 * rest of the app.
 */
export async function startProtocolApi(p: TestPlatform): Promise<ProtocolApi> {
  const redis = createRedis(p.config.REDIS_URL, { maxRetriesPerRequest: 1 });
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);
  await app.register(rateLimit, { global: false });
  registerAuth(app, p.pool);
  await app.register(commandRoutes({ pool: p.pool, redis }));
  await app.register(owntracksRoutes({ bridge: p.bridge, config: p.config }));
  await app.ready();
  const admin = await addToken(p.pool, { name: "protocols-admin", role: "admin" });
  const viewer = await addToken(p.pool, { name: "protocols-viewer", role: "viewer" });
  return {
    app,
    admin: { authorization: `Bearer ${admin.token}` },
    viewer: { authorization: `Bearer ${viewer.token}` },
    async close() {
      await app.close();
      redis.disconnect();
    },
  };
}
