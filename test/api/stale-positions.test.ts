import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topics } from "../../core/topics.ts";
import { type ApiHarness, startApi } from "./harness.ts";

describe("GET /api/positions marks a position older than STALE_AFTER_SECONDS as stale", () => {
  let h: ApiHarness;
  const AGES = { "stale-fresh": 1_000, "stale-old": 3_600_000 };

  beforeAll(async () => {
    h = await startApi({ env: { STALE_AFTER_SECONDS: "300" } });
    for (const [id, age] of Object.entries(AGES)) {
      await h.bridge.ingest({
        vehicleId: id,
        topic: topics.location(id),
        payload: Buffer.from(
          JSON.stringify({ lat: 25.2, lng: 55.27, recordedAt: Date.now() - age, speed: 63, heading: 90 }),
        ),
        receivedAt: Date.now(),
        messageId: `m-${id}`,
      });
    }
    await h.bridge.flush();
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
});
