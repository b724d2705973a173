import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startApi } from "../../api/harness.ts";

// Security review finding 18 (docs/security.md): the Content-Security-Policy lets the page open
// connections (fetch, WebSocket) to its own origin only. A bare `ws:`/`wss:` scheme source would
// let injected script stream data to any host. CSP Level 3's 'self' covers ws(s) to the same host;
// test/ui/live-map.test.ts shows the map's /ws still connecting in Chromium.
describe("finding 18: the CSP keeps connections on the page's own origin", () => {
  let h: ApiHarness;
  let base: string;
  beforeAll(async () => {
    h = await startApi();
    base = `http://${await h.listen()}`;
  });
  afterAll(() => h?.close());

  it("finding 18: connect-src is 'self' only, with no bare ws: or wss: scheme source", async () => {
    for (const path of ["/", "/health", "/api/auth/me"]) {
      const csp = (await fetch(`${base}${path}`)).headers.get("content-security-policy") ?? "";
      const directives = new Map(
        csp.split(";").map((d) => {
          const [name = "", ...values] = d.trim().split(/\s+/);
          return [name, values] as const;
        }),
      );
      const connect = directives.get("connect-src") ?? directives.get("default-src");
      expect(connect, `${path}: ${csp}`).toEqual(["'self'"]);
      expect(csp, path).not.toMatch(/(^|\s)(ws|wss):(\s|;|$)/);
    }
  });
});
