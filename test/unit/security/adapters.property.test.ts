import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { adapters } from "../../../bridge/adapters/index.ts";
import type { IncomingMessage } from "../../../bridge/bridge.ts";
import { type Fix, toFix } from "../../../core/fix.ts";
import { REJECT_REASONS } from "../../../core/reject-reasons.ts";
import { type IngestKind, topics } from "../../../core/topics.ts";
import { pureBridge } from "../../support/pure-bridge.ts";

// Property-based tests of the parsing edge: whatever a device sends, every adapter and toFix
// answer ok | reject | ignored with a known reason, never throw; valid fixes of each format come
// back out equal. No services: the bridge's decide() is pure (its Redis is never connected).
const REASONS = Object.keys(REJECT_REASONS);
const NOW = Date.now();
const DAY = 86_400_000;
const WINDOW = { now: NOW, retentionMs: 90 * DAY, maxSkewMs: 300_000 };
const IMEI = "356307042441013";
const RUNS = { numRuns: 1000 };

const { bridge, close } = pureBridge(NOW);
afterAll(close);

function topicFor(kind: IngestKind): string {
  if (kind === "native") return topics.location("v1");
  if (kind === "native-batch") return topics.locations("v1");
  if (kind === "owntracks") return topics.owntracks("v1", "phone");
  return topics.teltonika(IMEI);
}

function decide(kind: IngestKind, payload: Buffer | string) {
  const msg: IncomingMessage = {
    vehicleId: "v1",
    imei: IMEI,
    topic: topicFor(kind),
    payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
    receivedAt: NOW,
    messageId: "m",
  };
  return bridge.decide(msg);
}

/** A stored fix must satisfy the contract whatever produced it. */
function expectSaneFix(f: Fix): void {
  expect(f.vehicleId).toBe("v1");
  expect(Number.isFinite(f.lat) && f.lat >= -90 && f.lat <= 90).toBe(true);
  expect(Number.isFinite(f.lng) && f.lng >= -180 && f.lng <= 180).toBe(true);
  expect(Number.isInteger(f.recordedAt)).toBe(true);
  expect(f.recordedAt).toBeGreaterThanOrEqual(NOW - WINDOW.retentionMs);
  expect(f.recordedAt).toBeLessThanOrEqual(NOW + WINDOW.maxSkewMs);
  for (const v of [f.speed, f.heading, f.altitude, f.accuracy]) {
    // storable in a `real` column: finite as float32, no underflow to a refused value
    if (v !== undefined)
      expect(Number.isFinite(Math.fround(v)) && (v === 0 || Math.fround(v) !== 0)).toBe(true);
  }
  if (f.odometer !== undefined) expect(Number.isFinite(f.odometer) && f.odometer >= 0).toBe(true);
  expect(f.messageId.includes("\u0000")).toBe(false);
}

// JSON-ish values biased towards the fields the adapters read, with prototype keys among them
const fieldNames = fc.constantFrom(
  "lat",
  "lng",
  "lon",
  "recordedAt",
  "tst",
  "ts",
  "latlng",
  "speed",
  "vel",
  "sp",
  "heading",
  "cog",
  "ang",
  "altitude",
  "alt",
  "accuracy",
  "acc",
  "ignition",
  "239",
  "16",
  "odometer",
  "messageId",
  "_type",
  "state",
  "reported",
  "__proto__",
  "constructor",
  "prototype",
);
const scalar = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, 1e308, -1e308, 5e-324, 1e11, NOW, NOW / 1000, 90, 180, 400, 360),
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.constantFrom("location", "lwt", "25.2,55.27", "0.000000,0.000000", "1", "0", " 12 ", "\u0000", "\ud800"),
  fc.boolean(),
  fc.constant(null),
);
const { tree } = fc.letrec<{ tree: unknown }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small" },
    scalar,
    fc.array(tie("tree"), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fieldNames, fc.string()), tie("tree"), { maxKeys: 8 }),
  ),
}));
/** As a device would send it: JSON text, so `__proto__` is an own key, as JSON.parse makes it. */
const asJson = (v: unknown) => JSON.parse(JSON.stringify(v) ?? "null") as unknown;

describe("adapters and toFix never throw, and always answer with a known reason", () => {
  for (const kind of Object.keys(adapters) as IngestKind[]) {
    it(`${kind}: arbitrary JSON values`, () => {
      fc.assert(
        fc.property(fc.oneof(fc.jsonValue(), tree.map(asJson), fc.constant(undefined)), (v) => {
          const r = adapters[kind](v);
          if (r.ok === true) expect(Array.isArray(r.candidates)).toBe(true);
          else if (r.ok === false) {
            expect(REASONS).toContain(r.reason);
            expect(r.detail.length).toBeGreaterThan(0);
          } else {
            expect(r.ok).toBe("ignored");
            expect(kind).toBe("owntracks");
          }
        }),
        RUNS,
      );
    });
  }

  it("toFix: arbitrary values", () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), tree.map(asJson)), (v) => {
        const r = toFix(v, "v1", "m", NOW, WINDOW);
        if (r.ok) expectSaneFix(r.fix);
        else expect(REASONS).toContain(r.reason);
      }),
      RUNS,
    );
  });

  for (const kind of Object.keys(adapters) as IngestKind[]) {
    it(`bridge decide on ${kind}: arbitrary bytes and text`, () => {
      const before = Object.getOwnPropertyNames(Object.prototype).join();
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
            fc.string({ unit: "binary" }),
            fc.jsonValue().map((v) => JSON.stringify(v)),
            tree.map((v) => JSON.stringify(v) ?? ""),
          ),
          (payload) => {
            const d = decide(kind, payload);
            for (const f of d.fixes) expectSaneFix(f);
            for (const r of d.rejects) {
              expect(REASONS).toContain(r.reason);
              expect(r.detail.includes("\u0000") || r.payload.includes("\u0000")).toBe(false);
            }
            // every message is accounted for: stored, rejected, ignored, or an empty upload
            const empty = kind === "native-batch" && d.fixes.length === 0 && d.rejects.length === 0;
            expect(d.fixes.length + d.rejects.length > 0 || d.ignored !== undefined || empty).toBe(true);
          },
        ),
        RUNS,
      );
      expect(Object.getOwnPropertyNames(Object.prototype).join()).toBe(before);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }

  it("values PostgreSQL would refuse for the whole batch are rejected or normalised", () => {
    const base = { lat: 25, lng: 55, recordedAt: NOW - 1000 };
    expect(toFix({ ...base, accuracy: 1e308 }, "v1", "m", NOW, WINDOW)).toMatchObject({
      ok: false,
      reason: "E_OUT_OF_RANGE",
    });
    expect(toFix({ ...base, speed: 5e-324 }, "v1", "m", NOW, WINDOW)).toMatchObject({
      ok: true,
      fix: { speed: 0 },
    });
    expect(toFix({ ...base, messageId: "a\u0000b" }, "v1", "m", NOW, WINDOW)).toMatchObject({
      ok: true,
      fix: { messageId: "a\uFFFDb" },
    });
  });
});

// --- valid fixes of each format come back out as they went in
const coord = (max: number) => fc.double({ min: -max, max, noNaN: true }).map((v) => (v === 0 ? 0 : v));
const inWindow = fc.integer({ min: NOW - 89 * DAY, max: NOW + 200_000 });
const f32able = (min: number, max: number) =>
  fc.double({ min, max, noNaN: true }).map((v) => (Math.fround(v) === 0 ? 0 : v));
const nativeFix = fc.record(
  {
    lat: coord(90),
    lng: coord(180),
    recordedAt: inWindow,
    speed: f32able(0, 400),
    heading: f32able(0, 360),
    altitude: f32able(-1000, 100_000),
    accuracy: f32able(0, 1e6),
    ignition: fc.boolean(),
    odometer: fc.double({ min: 0, max: 1e9, noNaN: true }).map((v) => (v === 0 ? 0 : v)),
    messageId: fc.string({ minLength: 1, maxLength: 128 }).filter((s) => !s.includes("\u0000")),
  },
  { requiredKeys: ["lat", "lng", "recordedAt"] },
);

describe("valid fixes round-trip through each format", () => {
  it("native, one fix: every field as sent (recordedAt as epoch ms or ISO-8601)", () => {
    fc.assert(
      fc.property(nativeFix, fc.boolean(), (sent, iso) => {
        const payload = iso ? { ...sent, recordedAt: new Date(sent.recordedAt).toISOString() } : sent;
        const d = decide("native", JSON.stringify(payload));
        expect(d.rejects).toEqual([]);
        expect(d.fixes).toHaveLength(1);
        const f = d.fixes[0] as Fix;
        expect(f).toMatchObject({
          ...sent,
          vehicleId: "v1",
          messageId: sent.messageId ?? "m",
          receivedAt: NOW,
        });
      }),
      { numRuns: 500 },
    );
  });

  it("native, a store-and-forward array: each element stored, in order", () => {
    fc.assert(
      fc.property(fc.array(nativeFix, { minLength: 1, maxLength: 20 }), (sent) => {
        const d = decide("native-batch", JSON.stringify(sent));
        expect(d.rejects).toEqual([]);
        expect(d.fixes.map((f) => [f.lat, f.lng, f.recordedAt])).toEqual(
          sent.map((s) => [s.lat, s.lng, s.recordedAt]),
        );
      }),
      { numRuns: 200 },
    );
  });

  it("OwnTracks: lat, lon, tst (s), vel, cog, alt, acc", () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            lat: coord(90),
            lon: coord(180),
            tst: fc.integer({ min: Math.ceil((NOW - 89 * DAY) / 1000), max: Math.floor(NOW / 1000) }),
            vel: fc.integer({ min: 0, max: 400 }),
            cog: fc.integer({ min: 0, max: 360 }),
            alt: fc.integer({ min: -1000, max: 9000 }),
            acc: fc.integer({ min: 0, max: 5000 }),
          },
          { requiredKeys: ["lat", "lon", "tst"] },
        ),
        (sent) => {
          const d = decide("owntracks", JSON.stringify({ _type: "location", ...sent }));
          expect(d.rejects).toEqual([]);
          expect(d.fixes[0]).toMatchObject({
            lat: sent.lat,
            lng: sent.lon,
            recordedAt: sent.tst * 1000,
            speed: sent.vel ?? 0,
            heading: sent.cog,
            altitude: sent.alt,
            accuracy: sent.acc,
          });
        },
      ),
      { numRuns: 500 },
    );
  });

  it("Teltonika Codec JSON: numbers as numbers or strings, odometer in metres", () => {
    fc.assert(
      fc.property(
        coord(90).filter((v) => v !== 0),
        coord(180),
        inWindow.filter((t) => t <= NOW),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 0, max: 360 }),
        fc.integer({ min: 0, max: 1 }),
        fc.integer({ min: 0, max: 2_000_000_000 }),
        fc.boolean(),
        (lat, lng, ts, sp, ang, ign, odoM, asStrings) => {
          const v = (n: number) => (asStrings ? String(n) : n);
          const reported = { ts, latlng: `${lat},${lng}`, sp: v(sp), ang: v(ang), 239: v(ign), 16: v(odoM) };
          const d = decide("teltonika", JSON.stringify({ state: { reported } }));
          expect(d.rejects).toEqual([]);
          expect(d.fixes[0]).toMatchObject({
            lat,
            lng,
            recordedAt: ts,
            speed: sp,
            heading: ang,
            ignition: ign === 1,
            odometer: odoM / 1000,
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});
