import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveKeys } from "../../core/live-state.ts";
import { topics } from "../../core/topics.ts";
import { type ApiHarness, startApi } from "./harness.ts";

// spots on three continents; "pos-polar" is beyond Redis GEO's latitude limit (live hash only)
const SPOTS = {
  "pos-dubai": { lat: 25.2, lng: 55.27 },
  "pos-sharjah": { lat: 25.35, lng: 55.4 },
  "pos-paris": { lat: 48.85, lng: 2.35 },
  "pos-lima": { lat: -12.05, lng: -77.04 },
  "pos-polar": { lat: 88, lng: 10 },
};

describe("GET /api/positions", () => {
  let h: ApiHarness;
  let viewer: { authorization: string };
  const positions = (query: string) => h.app.inject({ url: `/api/positions?${query}`, headers: viewer });
  const ids = (res: { json: () => { items: { vehicleId: string }[] } }) =>
    res.json().items.map((p) => p.vehicleId);

  beforeAll(async () => {
    h = await startApi();
    viewer = h.bearer(h.viewerToken);
    // through the bridge, as MQTT and HTTP ingest do: it writes the live hash and the GEO index
    for (const [id, at] of Object.entries(SPOTS)) {
      await h.bridge.ingest({
        vehicleId: id,
        topic: topics.location(id),
        payload: Buffer.from(JSON.stringify({ ...at, recordedAt: Date.now() - 1000, speed: 42 })),
        receivedAt: Date.now(),
        messageId: `m-${id}`,
      });
    }
    await h.bridge.flush();
    expect(await h.redis.hlen(liveKeys.live)).toBe(5);
  });
  afterAll(() => h?.close());

  it("returns the latest positions inside a city box from the GEO index", async () => {
    const res = await positions("bbox=55.1,25.1,55.5,25.5");
    expect(res.statusCode).toBe(200);
    expect(ids(res)).toEqual(["pos-dubai", "pos-sharjah"]);
    expect(res.json().items[0]).toMatchObject({ vehicleId: "pos-dubai", lat: 25.2, lng: 55.27, speed: 42 });
  });

  it("keeps to the box edges", async () => {
    expect(ids(await positions("bbox=55.25,25.1,55.3,25.3"))).toEqual(["pos-dubai"]);
    expect(ids(await positions("bbox=55.28,25.1,55.5,25.3"))).toEqual([]);
  });

  it("answers the whole world and a polar box from the live hash", async () => {
    expect(ids(await positions("bbox=-180,-90,180,90"))).toEqual(Object.keys(SPOTS).sort());
    expect(ids(await positions("bbox=0,86,20,90"))).toEqual(["pos-polar"]);
    expect(ids(await positions(""))).toHaveLength(5);
  });

  it("pages by vehicle id", async () => {
    const first = await positions("limit=2");
    expect(ids(first)).toEqual(["pos-dubai", "pos-lima"]);
    const second = await positions(`limit=2&cursor=${first.json().nextCursor}`);
    expect(ids(second)).toEqual(["pos-paris", "pos-polar"]);
    const last = await positions(`limit=2&cursor=${second.json().nextCursor}`);
    expect(ids(last)).toEqual(["pos-sharjah"]);
    expect(last.json().nextCursor).toBeNull();
  });

  it("answers 400 naming bbox for malformed, reversed or out-of-range boxes", async () => {
    for (const bbox of ["1,2,3", "a,b,c,d", "55.5,25.1,55.1,25.5", "0,0,10,95", "0,10,10,5"]) {
      const res = await positions(`bbox=${bbox}`);
      expect(res.statusCode, bbox).toBe(400);
      expect(res.json().field, bbox).toMatch(/^querystring\.bbox/);
    }
  });

  it("needs credentials (401)", async () => {
    expect((await h.app.inject({ url: "/api/positions" })).statusCode).toBe(401);
  });
});
