import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addToken } from "../../../core/api-tokens.ts";
import { topics } from "../../../core/topics.ts";
import { type ApiHarness, startApi } from "../../api/harness.ts";
import { openWs, type TestWs } from "../../api/ws-client.ts";
import { waitFor } from "../../support/wait.ts";

// Security review finding 10 (docs/security.md): /ws had no Origin check, no socket cap and no
// per-socket message rate. Real server on a loopback port, real WebSocket clients.
const LISTED = "https://fleet.example.com";
const tag = randomUUID().slice(0, 6);
const SPOTS = {
  [`f10-dubai-${tag}`]: { lat: 25.2, lng: 55.27 },
  [`f10-sharjah-${tag}`]: { lat: 25.35, lng: 55.4 },
  [`f10-paris-${tag}`]: { lat: 48.85, lng: 2.35 },
  [`f10-polar-${tag}`]: { lat: 88, lng: 10 },
};

describe("finding 10: /ws checks Origin, caps sockets and rate-limits each socket's messages", () => {
  let h: ApiHarness;
  let base: string;
  let viewer: { authorization: string };
  const open: TestWs[] = [];
  const ws = async (headers: Record<string, string>) => {
    const s = await openWs(`ws://${base}/ws`, headers);
    open.push(s);
    return s;
  };
  const noSockets = () =>
    waitFor(
      async () => h.app.hub.stats.clients,
      (n) => n === 0,
      { what: "every socket closed on the server" },
    );
  const metric = async (reason: string) => {
    const text = (await h.app.inject({ url: "/metrics", headers: h.bearer(h.adminToken) })).body;
    const m = new RegExp(`^logitrack_ws_refused_total\\{reason="${reason}"\\} (\\d+)$`, "m").exec(text);
    return Number(m?.[1] ?? 0);
  };

  beforeAll(async () => {
    h = await startApi({
      env: {
        CORS_ORIGINS: LISTED,
        WS_MAX_SOCKETS: "5",
        WS_MAX_SOCKETS_PER_USER: "3",
        WS_MESSAGES_PER_MINUTE: "5",
      },
    });
    base = await h.listen();
    viewer = h.bearer(h.viewerToken);
    for (const [id, at] of Object.entries(SPOTS)) {
      await h.bridge.ingest({
        vehicleId: id,
        topic: topics.location(id),
        payload: Buffer.from(JSON.stringify({ ...at, recordedAt: Date.now() - 1000 })),
        receivedAt: Date.now(),
        messageId: `m-${id}`,
      });
    }
    await h.bridge.flush();
  });
  afterAll(async () => {
    for (const s of open) s.socket.terminate();
    await h?.close();
  });

  it("finding 10: a page on another origin is refused (403); the API's own origin, a listed one and no Origin are not", async () => {
    await expect(ws({ ...viewer, origin: "https://evil.example" })).rejects.toThrow("HTTP 403");
    await expect(ws({ ...viewer, origin: "null" })).rejects.toThrow("HTTP 403");
    // same host, other port: another origin
    await expect(ws({ ...viewer, origin: `http://127.0.0.1:1` })).rejects.toThrow("HTTP 403");
    for (const origin of [`http://${base}`, LISTED, undefined]) {
      const s = await ws(origin ? { ...viewer, origin } : viewer);
      s.send({ type: "subscribe" });
      await s.next((m) => m.type === "snapshot", 0, `snapshot with origin ${origin}`);
      s.close();
    }
    expect(await metric("origin")).toBe(3);
    await noSockets();
  });

  it("finding 10: a message flood gets an error, then the socket is closed with 1008", async () => {
    const s = await ws(viewer);
    for (let i = 0; i < 5; i++) s.send({ type: "subscribe", bbox: [55, 25, 56, 26] });
    await s.next((m) => m.type === "snapshot");
    for (let i = 0; i < 50; i++) s.send({ type: "subscribe" });
    // a guard far above normal (the close comes at once): without the limit the socket stays open
    const stillOpen = new Promise((r) => setTimeout(() => r("still open after 15 s"), 15_000).unref());
    expect(await Promise.race([s.closed, stillOpen])).toBe(1008);
    expect(s.messages.filter((m) => m.type === "error").map((m) => m.error)).toEqual([
      "rate limit: at most 5 messages a minute; slow down or be closed",
    ]);
    expect(await metric("message_rate")).toBe(1);
    await noSockets();
  });

  it("finding 10: the N+1th socket of a user is refused (429), and the N+1th of the process (503)", async () => {
    const mine = [await ws(viewer), await ws(viewer), await ws(viewer)];
    await expect(ws(viewer)).rejects.toThrow("HTTP 429");
    // another user still gets in, up to the process's cap of 5
    const admin = h.bearer(h.adminToken);
    await ws(admin);
    await ws(admin);
    const third = await addToken(h.pool, { name: `f10-${tag}`, role: "viewer" });
    await expect(ws(h.bearer(third.token))).rejects.toThrow("HTTP 503");
    // a closed socket gives its slot back
    mine[0]?.close();
    await waitFor(
      async () => h.app.hub.stats.clients,
      (n) => n === 4,
      { what: "one socket released" },
    );
    const again = await ws(viewer);
    again.send({ type: "subscribe" });
    await again.next((m) => m.type === "snapshot");
    expect(await metric("sockets_per_user")).toBe(1);
    expect(await metric("sockets")).toBe(1);
    for (const s of open) s.close();
    await noSockets();
  });

  it("finding 10: a subscribe with a box answers only the vehicles inside it (GEO index)", async () => {
    const s = await ws(viewer);
    s.send({ type: "subscribe", bbox: [55.1, 25.1, 55.5, 25.5] });
    const snap = await s.next((m) => m.type === "snapshot");
    expect(snap.positions?.map((p) => p.vehicleId).sort()).toEqual([
      `f10-dubai-${tag}`,
      `f10-sharjah-${tag}`,
    ]);
    s.send({ type: "subscribe", bbox: [55.25, 25.1, 55.3, 25.3] });
    const edge = await s.next((m) => m.type === "snapshot", s.messages.indexOf(snap) + 1);
    expect(edge.positions?.map((p) => p.vehicleId)).toEqual([`f10-dubai-${tag}`]);
    // a box past the GEO index's latitude limit still finds the polar vehicle
    s.send({ type: "subscribe", bbox: [0, 86, 20, 90] });
    const polar = await s.next((m) => m.type === "snapshot", s.messages.indexOf(edge) + 1);
    expect(polar.positions?.map((p) => p.vehicleId)).toEqual([`f10-polar-${tag}`]);
    s.close();
  });
});
