import type { FastifyInstance } from "fastify";

export interface RouteEntry {
  method: string;
  /** as registered: `:id` parameters, `*` wildcards */
  path: string;
}

/**
 * Every route the app registered, read from Fastify's route tree (`printRoutes`), so a route
 * added later is covered by the scans without editing them. Lines look like
 * `│   ├── /:id (GET, HEAD, DELETE)`: the depth is where the branch mark sits, the path is the
 * concatenation of the segments from the root.
 */
export function listRoutes(app: FastifyInstance): RouteEntry[] {
  const out: RouteEntry[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split("\n")) {
    const m = /^(.*?)(?:├── |└── )(.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = (m[1] as string).length / 4;
    stack.length = depth;
    stack.push(m[2] as string);
    const path = stack.join("");
    for (const method of (m[3] ?? "").split(", ").filter(Boolean)) out.push({ method, path });
  }
  return out;
}

/** The route's path with every parameter and wildcard replaced by `value` (URL-encoded). */
export function fillPath(path: string, value: string): string {
  return path.replace(/:[A-Za-z]+|\*/g, encodeURIComponent(value));
}
