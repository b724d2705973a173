import { describe, expect, it } from "vitest";
import { toFix } from "../../core/fix.ts";

const now = Date.UTC(2026, 10, 28, 12);
const window = { now, retentionMs: 90 * 86_400_000, maxSkewMs: 300_000 };
const check = (candidate: unknown) => toFix(candidate, "v1", "m1", now, window);
const base = { lat: 25.2, lng: 55.3, recordedAt: now - 1000 };

describe("native fix validation", () => {
  it("accepts ISO time with offset and epoch milliseconds alike", () => {
    const iso = check({ ...base, recordedAt: "2026-11-28T15:59:59.000+04:00" });
    const ms = check({ ...base, recordedAt: now - 1000 });
    expect(iso.ok && iso.fix.recordedAt).toBe(now - 1000);
    expect(ms.ok && ms.fix.recordedAt).toBe(now - 1000);
  });

  it("keeps the device's messageId as correlation id, else the broker's", () => {
    const own = check({ ...base, messageId: "dev-42" });
    const generated = check(base);
    expect(own.ok && own.fix.messageId).toBe("dev-42");
    expect(generated.ok && generated.fix.messageId).toBe("m1");
  });

  it.each([
    [{ ...base, lat: 90.0001 }, "E_OUT_OF_RANGE", "lat"],
    [{ ...base, lng: -180.5 }, "E_OUT_OF_RANGE", "lng"],
    [{ ...base, speed: -1 }, "E_OUT_OF_RANGE", "speed"],
    [{ ...base, heading: 361 }, "E_OUT_OF_RANGE", "heading"],
    [{ ...base, accuracy: -3 }, "E_OUT_OF_RANGE", "accuracy"],
    [{ lat: 1, lng: 2 }, "E_MISSING_FIELD", "recordedAt"],
    [{ lng: 2, recordedAt: now }, "E_MISSING_FIELD", "lat"],
    [{ ...base, lat: "25.2" }, "E_BAD_TYPE", "lat"],
    [{ ...base, ignition: "yes" }, "E_BAD_TYPE", "ignition"],
    [{ ...base, recordedAt: "yesterday" }, "E_BAD_TYPE", "recordedAt"],
    [{ ...base, recordedAt: true }, "E_BAD_TYPE", "recordedAt"],
    [{ ...base, recordedAt: now + 301_000 }, "E_IN_FUTURE", "recordedAt"],
    [{ ...base, recordedAt: now - 91 * 86_400_000 }, "E_TOO_OLD", "recordedAt"],
    [[base], "E_BAD_PAYLOAD", "object"],
    [null, "E_BAD_PAYLOAD", "object"],
  ])("rejects %j with %s naming %s", (candidate, reason, field) => {
    const r = check(candidate);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toBe(reason);
      expect(r.detail).toContain(field);
    }
  });

  it("drops unknown keys, so __proto__ in a payload never reaches a Fix", () => {
    const r = check(
      JSON.parse(`{"lat":1,"lng":2,"recordedAt":${now},"__proto__":{"polluted":true},"extra":1}`),
    );
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(Object.keys(r.fix)).not.toContain("extra");
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((r.fix as unknown as Record<string, unknown>).polluted).toBeUndefined();
    }
  });
});
