import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type pg from "pg";
import { findToken } from "../../core/api-tokens.ts";
import { authSubject } from "../../core/auth-revocations.ts";
import type { Config } from "../../core/config.ts";
import { deviceSecretMatches } from "../../core/credentials.ts";
import { isVehicleId } from "../../core/topics.ts";
import { canSee } from "../../core/vehicle-groups.ts";
import { getMqttAccount } from "../../core/vehicles.ts";
import { sendError } from "../errors.ts";
import { findSession, type Principal, SESSION_COOKIE } from "../sessions.ts";
import type { VehicleRule } from "../vehicle-scope.ts";

/**
 * Who may call a route, declared in its `config.access`:
 *   public   anyone
 *   read     any role: viewer, operator, admin (session cookie or Bearer token)
 *   operate  an operator or an admin: vehicles, geofences, alert rules, commands
 *   write    an admin; also the default for a route that declares nothing (Bull Board, …)
 *   device   a vehicle: HTTP Basic, username = vehicle id, password = its device secret
 * Which vehicles a non-admin reaches is the route's `config.vehicles` (api/vehicle-scope.ts).
 */
export type Access = "public" | "read" | "operate" | "write" | "device";

declare module "fastify" {
  interface FastifyContextConfig {
    access?: Access;
    /**
     * A fixed secret a `read` route also accepts as `Authorization: Bearer <secret>`, as a viewer
     * (METRICS_TOKEN: a Prometheus scraper needs no user or database token)
     */
    bearerSecret?: string;
    /** how the route keeps a caller to the vehicles it may see (api/vehicle-scope.ts) */
    vehicles?: VehicleRule;
  }
  interface FastifyRequest {
    principal: Principal | null;
    /** the authenticated vehicle on device routes */
    vehicleId: string | null;
  }
}

export function registerAuth(
  app: FastifyInstance,
  pool: pg.Pool,
  config: Pick<Config, "SESSION_IDLE_MINUTES">,
): void {
  app.decorateRequest("principal", null);
  app.decorateRequest("vehicleId", null);

  app.addHook("onRequest", async (req, reply) => {
    if (req.is404) return;
    const access = req.routeOptions.config.access ?? "write";
    if (access === "public") return;
    if (access === "device") {
      const vehicleId = await authenticateDevice(pool, req);
      if (!vehicleId) {
        reply.header("www-authenticate", 'Basic realm="logitrack devices", charset="UTF-8"');
        return sendError(reply, "E_DEVICE_UNAUTHORIZED");
      }
      req.vehicleId = vehicleId;
      return;
    }
    const secret = req.routeOptions.config.bearerSecret;
    // a route's own Bearer secret (METRICS_TOKEN on /metrics) opens that route and names no one
    if (access === "read" && secret && bearerMatches(req.headers.authorization, secret)) return;
    const principal = await identify(pool, req, config.SESSION_IDLE_MINUTES);
    if (principal === "expired") return sendError(reply, "E_TOKEN_EXPIRED");
    if (!principal) return sendError(reply, "E_UNAUTHORIZED");
    // set before the role check: a refused attempt is audited with who made it (api/audit-hook.ts)
    req.principal = principal;
    const allowed =
      access === "read" ||
      principal.role === "admin" ||
      (access === "operate" && principal.role === "operator");
    if (!allowed) return sendError(reply, "E_FORBIDDEN", `role ${principal.role} may not do this`);
  });

  // after validation: `:id` and `vehicleId` are parsed. An invisible vehicle is answered like an
  // unknown one, so a caller cannot tell other groups' vehicles exist.
  app.addHook("preHandler", async (req, reply) => {
    const rule = req.routeOptions.config.vehicles;
    const groups = req.principal?.groups ?? null;
    if (groups === null || (rule !== "param" && rule !== "filtered")) return;
    const id =
      rule === "param"
        ? (req.params as { id?: unknown }).id
        : (req.query as { vehicleId?: unknown } | undefined)?.vehicleId;
    if (typeof id === "string" && !(await canSee(pool, groups, id)))
      return sendError(reply, "E_NOT_FOUND", `no vehicle ${id}`);
  });
}

const digest = (s: string) => createHash("sha256").update(s).digest();

function bearerMatches(header: string | undefined, secret: string): boolean {
  return header !== undefined && timingSafeEqual(digest(header), digest(`Bearer ${secret}`));
}

/**
 * The caller, for a public route that tells an authenticated one more (/health's details for
 * admins): as identify, an expired token being no one.
 */
export async function authenticate(
  pool: pg.Pool,
  req: FastifyRequest,
  idleMinutes: number,
): Promise<Principal | undefined> {
  const caller = await identify(pool, req, idleMinutes);
  return caller === "expired" ? undefined : caller;
}

/**
 * Bearer token first (an invalid one is not rescued by a cookie), then the session cookie.
 * "expired": a token past its expiry, refused as such (E_TOKEN_EXPIRED) so that its owner knows
 * to make a new one rather than look for a typo.
 */
async function identify(
  pool: pg.Pool,
  req: FastifyRequest,
  idleMinutes: number,
): Promise<Principal | "expired" | undefined> {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer (\S{16,512})$/.exec(header);
    if (!m) return undefined;
    const token = await findToken(pool, m[1] as string);
    if (token?.expired) return "expired";
    return (
      token && {
        kind: "token",
        name: token.name,
        role: token.role,
        owner: { tokenId: token.id },
        subjects: [authSubject.token(token.id)],
        groups: token.groups,
        expiresAt: token.expiresAtMs,
      }
    );
  }
  const cookie = req.cookies[SESSION_COOKIE];
  if (!cookie || cookie.length > 128) return undefined;
  return findSession(pool, cookie, idleMinutes);
}

async function authenticateDevice(pool: pg.Pool, req: FastifyRequest): Promise<string | undefined> {
  const basic = parseBasic(req.headers.authorization);
  if (!basic || !isVehicleId(basic.username)) return undefined;
  const account = await getMqttAccount(pool, basic.username);
  if (account?.kind !== "device" || !deviceSecretMatches(basic.password, account.hash)) return undefined;
  return basic.username;
}

export function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]{1,512})$/.exec(header ?? "");
  if (!m) return undefined;
  const decoded = Buffer.from(m[1] as string, "base64").toString("utf8");
  const i = decoded.indexOf(":");
  return i < 0 ? undefined : { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
}
