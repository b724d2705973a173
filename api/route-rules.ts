import type { FastifyInstance, RouteOptions } from "fastify";
import type { VehicleRule } from "./vehicle-scope.ts";

export interface RouteRule {
  method: string;
  url: string;
  access: string;
  vehicles: VehicleRule | undefined;
}

declare module "fastify" {
  interface FastifyInstance {
    /** every route's access and vehicle rule, as registered (test/api/vehicle-scope.test.ts reads it) */
    routeRules(): RouteRule[];
  }
}

/**
 * The rule a route runs under: declared in `config.vehicles`, or implied by its access (admins
 * see everything, a device only itself, a public route carries no vehicle data). A route open to
 * viewers or operators must declare one: there is no safe default for it.
 */
export function effectiveRule(config: { access?: string; vehicles?: VehicleRule }): VehicleRule | undefined {
  if (config.vehicles) return config.vehicles;
  const access = config.access ?? "write";
  if (access === "write") return "admin";
  if (access === "device" || access === "public") return access;
  return undefined;
}

/**
 * Records every route as it is registered and refuses to start (ready() rejects) when a route a
 * non-admin can call declares no vehicle rule. The options are read at ready, not at onRoute:
 * plugins (docs, UI) set their routes' access in onRoute hooks of their own that run later.
 */
export function registerRouteRules(app: FastifyInstance): void {
  const routes: RouteOptions[] = [];
  app.addHook("onRoute", (route) => {
    routes.push(route);
  });
  const list = (): RouteRule[] =>
    routes.flatMap((r) => {
      const config = (r.config ?? {}) as { access?: string; vehicles?: VehicleRule };
      return [r.method].flat().map((method) => ({
        method,
        url: r.url,
        access: config.access ?? "write",
        vehicles: effectiveRule(config),
      }));
    });
  app.decorate("routeRules", list);
  app.addHook("onReady", async () => {
    const missing = list().filter((r) => r.vehicles === undefined);
    if (missing.length > 0)
      throw new Error(
        `routes open to non-admins must declare config.vehicles (api/vehicle-scope.ts): ${missing
          .map((r) => `${r.method} ${r.url}`)
          .join(", ")}`,
      );
  });
}
