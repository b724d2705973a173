import { describe, expect, it } from "vitest";
import type { AlertRunState } from "../../worker/derive/alert-machine.ts";
import { packRuns, unpackRuns } from "../../worker/derive/alert-runs-packing.ts";

const at = (t: number) => ({ t, lat: 25.1234567, lng: -55.5 });

describe("alert runs packed in the machine state", () => {
  it("gives back every run: pending ones grouped by start and peak, episodes as they were", () => {
    // made in another order than rule ids (runs of later fixes after earlier ones): stored by id
    const runs = new Map<number, AlertRunState>([
      [12, { start: at(1000), confirmedAt: null, peak: 104.04 }],
      [40, { start: at(2000), confirmedAt: null, peak: 99 }],
      [3, { start: at(1000), confirmedAt: null, peak: 104.04 }],
      [
        5,
        {
          start: at(500),
          last: 2000,
          confirmedAt: 1500,
          peak: 118.25,
          quiet: false,
          name: "over 60",
          kind: "speeding",
        },
      ],
      // same start, another peak (a threshold rule): a group of its own
      [7, { start: at(1000), confirmedAt: null, peak: -3.26 }],
    ]);
    const packed = packRuns(runs);
    expect(packed).toEqual({
      p: ["1000,25.1234567,-55.5,104,3,12", "1000,25.1234567,-55.5,-3.3,7", "2000,25.1234567,-55.5,99,40"],
      c: {
        "5": {
          start: at(500),
          confirmedAt: 1500,
          peak: 118.25,
          quiet: false,
          name: "over 60",
          kind: "speeding",
        },
      },
    });
    // through jsonb and back: the same runs, peaks of pending runs to one decimal (as announced)
    const back = unpackRuns(JSON.parse(JSON.stringify(packed)));
    const { last: _, ...episode } = runs.get(5) as AlertRunState;
    expect(Object.fromEntries(back)).toEqual({
      "3": { start: at(1000), confirmedAt: null, peak: 104 },
      "12": { start: at(1000), confirmedAt: null, peak: 104 },
      "7": { start: at(1000), confirmedAt: null, peak: -3.3 },
      "40": { start: at(2000), confirmedAt: null, peak: 99 },
      "5": episode,
    });
    expect([...back.keys()].every((id) => typeof id === "number")).toBe(true);
    expect(packRuns(new Map())).toBeUndefined();
  });

  it("reads runs saved one object per rule (states written before packing), without changing them", () => {
    const saved = { "9": { start: at(1000), last: 1500, confirmedAt: null, peak: 88.88 } };
    const copy = structuredClone(saved);
    const runs = unpackRuns(saved);
    expect(Object.fromEntries(runs)).toEqual(copy);
    (runs.get(9) as AlertRunState).peak = 1;
    expect(saved).toEqual(copy);
  });
});
