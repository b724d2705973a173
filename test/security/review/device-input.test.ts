import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readNumber } from "../../../bridge/adapters/fields.ts";
import { adapters } from "../../../bridge/adapters/index.ts";
import { toFix } from "../../../core/fix.ts";
import { REJECT_REASONS } from "../../../core/reject-reasons.ts";

// Security review findings about what one device can send (docs/security.md, findings 1 and 5).
// Pure: the adapters and toFix run without services, as the bridge runs them on the event loop.
const NOW = Date.UTC(2026, 11, 6, 12);
const WINDOW = { now: NOW, retentionMs: 90 * 86_400_000, maxSkewMs: 300_000 };
const REASONS = Object.keys(REJECT_REASONS);
const KB64 = 64 * 1024;

/** Long numeric-looking strings of every shape that a backtracking pattern struggles with. */
function longNumericStrings(n: number): string[] {
  const digits = "1".repeat(n);
  return [
    `${digits}a`,
    `${digits}.${digits}x`.slice(0, n),
    `${"1".repeat(n / 2)}.${"1".repeat(n / 2 - 2)}e`,
    `-${digits}e+`,
    `${" ".repeat(n)}1x`,
    `1${" ".repeat(n)}x`,
    `.${digits}e1x`,
    `${"1.".repeat(n / 2)}`,
    `${digits}e${digits}x`.slice(0, n),
    `+${"0".repeat(n - 2)}-`,
  ];
}

describe("finding 1: numeric strings are read in linear time, whatever their shape", () => {
  it("readNumber answers a 64 KB numeric-looking string far within a second (quadratic took ~10 s)", () => {
    for (const s of longNumericStrings(KB64)) {
      const started = performance.now();
      try {
        readNumber(s, "lat");
      } catch {
        // a FieldError is the expected answer for most of these; the time is what is guarded
      }
      // a generous bound: linear parsing takes well under a millisecond, the quadratic one seconds
      expect(performance.now() - started, `shape ${JSON.stringify(s.slice(0, 12))}…`).toBeLessThan(1000);
    }
  });

  it("every adapter answers an OwnTracks/Teltonika message with such a field within a second", () => {
    const long = `${"1".repeat(65_400)}a`;
    const messages = [
      { kind: "owntracks" as const, payload: { _type: "location", lat: long, lon: 55.2, tst: NOW / 1000 } },
      {
        kind: "teltonika" as const,
        payload: { state: { reported: { ts: NOW, latlng: `${long},55.2`, sp: long } } },
      },
    ];
    for (const { kind, payload } of messages) {
      const started = performance.now();
      const r = adapters[kind](payload);
      expect(performance.now() - started, kind).toBeLessThan(1000);
      expect(r.ok === false && REASONS.includes(r.reason), kind).toBe(true);
    }
  });

  it("numeric strings of ordinary shapes still read as numbers", () => {
    expect(readNumber(" 25.2048 ", "lat")).toBe(25.2048);
    expect(readNumber("-1.5e3", "x")).toBe(-1500);
    expect(readNumber(".5", "x")).toBe(0.5);
    expect(readNumber("7.", "x")).toBe(7);
    expect(readNumber("+3", "x")).toBe(3);
    expect(() => readNumber("1.2.3", "x")).toThrow(/expected a number/);
    expect(() => readNumber("e5", "x")).toThrow(/expected a number/);
    expect(() => readNumber("", "x")).not.toThrow();
  });
});

describe("finding 5: a recordedAt beyond JavaScript's date range is a reject, never an exception", () => {
  it("epoch milliseconds between 8.64e15 and 2^53 are rejected with E_OUT_OF_RANGE", () => {
    for (const t of [8.64e15 + 1, 8.7e15, 2 ** 53 - 1, Number.MAX_SAFE_INTEGER]) {
      const r = toFix({ lat: 1, lng: 1, recordedAt: t }, "v1", "m", NOW, WINDOW);
      expect(r.ok, String(t)).toBe(false);
      if (!r.ok) expect(r.reason).toBe("E_OUT_OF_RANGE");
    }
  });

  it("any integer recordedAt, and any ISO string, gives a fix or a known reason (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          fc.integer({ min: 8_640_000_000_000_000, max: Number.MAX_SAFE_INTEGER }),
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          fc.string(),
        ),
        (recordedAt) => {
          const r = toFix({ lat: 1, lng: 1, recordedAt }, "v1", "m", NOW, WINDOW);
          if (!r.ok) expect(REASONS).toContain(r.reason);
          else expect(Number.isSafeInteger(r.fix.recordedAt)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("every adapter carries the same bound (OwnTracks tst in seconds, Teltonika ts in ms)", () => {
    const owntracks = adapters.owntracks({ _type: "location", lat: 1, lon: 1, tst: 9e12 });
    const teltonika = adapters.teltonika({ state: { reported: { ts: 9e15, latlng: "1,1" } } });
    for (const a of [owntracks, teltonika]) {
      if (a.ok === true)
        for (const c of a.candidates) expect(toFix(c, "v1", "m", NOW, WINDOW).ok).toBe(false);
      else expect(a.ok === "ignored" || REASONS.includes(a.reason)).toBe(true);
    }
  });
});
