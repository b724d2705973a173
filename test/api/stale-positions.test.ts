import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topics } from "../../core/topics.ts";
import { type ApiHarness, startApi } from "./harness.ts";
import { type LiveMessage, openWs } from "./ws-client.ts";

describe("GET /api/positions and /ws mark a position older than STALE_AFTER_SECONDS as stale", () => {
  let h: ApiHarness;
  const AGES = { "stale-fresh": 1_000, "stale-old": 3_600_000 };

  const ingest = async (id: string, age: number) => {
    await h.bridge.ingest({
      vehicleId: id,
      topic: topics.location(id),
      payload: Buffer.from(
        JSON.stringify({ lat: 25.2, lng: 55.27, recordedAt: Date.now() - age, speed: 63, heading: 90 }),
      ),
      receivedAt: Date.now(),
      messageId: `m-${id}-${age}`,
    });
    await h.bridge.flush();
  };

  beforeAll(async () => {
    h = await startApi({ env: { STALE_AFTER_SECONDS: "300" } });
    for (const [id, age] of Object.entries(AGES)) await ingest(id, age);
  });
  afterAll(() => h?.close());

  it("keeps the last known speed and heading, flagged so a client shows them as last known", async () => {
    const res = await h.app.inject({ url: "/api/positions", headers: h.bearer(h.viewerToken) });
    expect(res.statusCode).toBe(200);
    const items = res.json().items as { vehicleId: string; stale: boolean; speed: number }[];
    expect(items.map((p) => [p.vehicleId, p.stale, p.speed])).toEqual([
      ["stale-fresh", false, 63],
      ["stale-old", true, 63],
    ]);
  });

  it("marks the /ws snapshot and the deltas after it the same way", async () => {
    const ws = await openWs(`ws://${await h.listen()}/ws`, h.bearer(h.viewerToken));
    ws.send({ type: "subscribe" });
    const snap = await ws.next((m) => m.type === "snapshot");
    const flags = (m: LiveMessage) =>
      Object.fromEntries(
        (m.positions ?? [])
          .filter((p) => p.vehicleId.startsWith("stale-"))
          .map((p) => [p.vehicleId, p.stale]),
      );
    expect(flags(snap)).toEqual({ "stale-fresh": false, "stale-old": true });
    // a buffered fix uploaded now, but recorded an hour ago, is news yet not current
    await ingest("stale-late", 3_600_000);
    const delta = await ws.next((m) => m.type === "positions" && "stale-late" in flags(m));
    expect(flags(delta)).toEqual({ "stale-late": true });
    ws.close();
  });
});
