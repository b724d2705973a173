import { describe, expect, it } from "vitest";
import { dayStart, fromZoneInput, toZoneInput } from "../../ui/src/zone-time.ts";

describe("wall-clock times in a named zone (history presets and range inputs)", () => {
  it("reads and writes an input's value in the zone, not the machine's", () => {
    const t = new Date("2026-06-15T10:30:00Z");
    expect(toZoneInput(t, "Asia/Dubai")).toBe("2026-06-15T14:30");
    expect(toZoneInput(t, "America/New_York")).toBe("2026-06-15T06:30");
    expect(fromZoneInput("2026-06-15T14:30", "Asia/Dubai").toISOString()).toBe(t.toISOString());
    expect(fromZoneInput("2026-06-15T06:30", "America/New_York").toISOString()).toBe(t.toISOString());
    expect(Number.isNaN(fromZoneInput("", "UTC").getTime())).toBe(true);
    expect(toZoneInput(new Date(Number.NaN), "UTC")).toBe("");
  });

  it("finds the zone's midnight of today, yesterday and across a month and a DST change", () => {
    // 01:30 in Dubai on 1 March is still 28 February in UTC
    const now = new Date("2026-02-28T21:30:00Z");
    expect(dayStart(now, "Asia/Dubai").toISOString()).toBe("2026-02-28T20:00:00.000Z");
    expect(dayStart(now, "Asia/Dubai", 1).toISOString()).toBe("2026-02-27T20:00:00.000Z");
    // Oslo moves from +01:00 to +02:00 on 29 March 2026: that day starts at +01:00, the next at +02:00
    const after = new Date("2026-03-30T12:00:00Z");
    expect(dayStart(after, "Europe/Oslo").toISOString()).toBe("2026-03-29T22:00:00.000Z");
    expect(dayStart(after, "Europe/Oslo", 1).toISOString()).toBe("2026-03-28T23:00:00.000Z");
    expect(dayStart(after, "Europe/Oslo", 6).toISOString()).toBe("2026-03-23T23:00:00.000Z");
  });
});
