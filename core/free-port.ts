import { createServer } from "node:net";

/**
 * A TCP port free on 127.0.0.1 right now: bound to port 0, then released, for a server started
 * next (a private PostgreSQL, Redis, broker …) that cannot be told to pick one itself.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      server.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}
