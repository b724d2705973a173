import { describe, expect, it } from "vitest";
import { parseCliOptions, UsageError } from "../../../simulator/cli-options.ts";
import type { FleetStats } from "../../../simulator/fleet.ts";
import { formatStatus, progressBar } from "../../../simulator/status-line.ts";

describe("simulate command line", () => {
  it("defaults to 500 trucks, one QoS 1 fix every 5 s, on the local broker", () => {
    const o = parseCliOptions([], {});
    expect(o).toMatchObject({ trucks: 500, rate: 0.2, qos: 1, url: "mqtt://127.0.0.1:1883", owntracks: 0 });
    expect(o.api).toBe("http://127.0.0.1:8080");
    expect(o.credentialsFile).toBe(".data/simulator-credentials.json");
  });

  it("takes its ports and token from the platform's environment when not given", () => {
    const o = parseCliOptions([], {
      MQTT_PORT: 18830,
      HTTP_PORT: 18080,
      ADMIN_TOKEN: "t0k3n-t0k3n-t0k3n",
    });
    expect(o.url).toBe("mqtt://127.0.0.1:18830");
    expect(o.api).toBe("http://127.0.0.1:18080");
    expect(o.token).toBe("t0k3n-t0k3n-t0k3n");
  });

  it("parses every option", () => {
    const o = parseCliOptions(
      "--trucks 20 --rate 2 --qos 0 --seed abc --duration 30 --coverage-gaps --duplicates --owntracks 5 --url mqtt://h:1 --prefix van".split(
        " ",
      ),
    );
    expect(o).toMatchObject({
      trucks: 20,
      rate: 2,
      qos: 0,
      seed: "abc",
      durationS: 30,
      coverageGaps: true,
      duplicates: true,
      owntracks: 5,
      url: "mqtt://h:1",
      prefix: "van",
    });
  });

  it("refuses what it cannot run, naming the option", () => {
    expect(() => parseCliOptions(["--trucks", "0"])).toThrow(/--trucks/);
    expect(() => parseCliOptions(["--trucks", "2.5"])).toThrow(/--trucks must be a whole number/);
    expect(() => parseCliOptions(["--qos", "2"])).toThrow(/--qos/);
    expect(() => parseCliOptions(["--rate", "fast"])).toThrow(/--rate/);
    expect(() => parseCliOptions(["--owntracks", "9", "--trucks", "3"])).toThrow(/--owntracks/);
    expect(() => parseCliOptions(["--prefix", "a/b"])).toThrow(/--prefix/);
    expect(() => parseCliOptions(["--bogus"])).toThrow(UsageError);
  });
});

const stats = (over: Partial<FleetStats>): FleetStats => ({
  trucks: 500,
  connectedTrucks: 500,
  generated: 0,
  sent: 0,
  duplicates: 0,
  batches: 0,
  acked: 0,
  messagesAcked: 0,
  inflight: 0,
  buffered: 0,
  rejected: 0,
  publishErrors: 0,
  connectionErrors: 0,
  authRefused: 0,
  connects: 500,
  reconnects: 0,
  resent: 0,
  errors: 0,
  ...over,
});

describe("status line", () => {
  it("shows connected trucks, fixes/s and acks/s over the last interval, and errors", () => {
    const line = formatStatus(
      { at: 3000, stats: stats({ connectedTrucks: 498, sent: 1300, acked: 1250, errors: 2 }) },
      { at: 1000, stats: stats({ sent: 1100, acked: 1000 }) },
    );
    expect(line).toContain("trucks 498/500");
    expect(line).toContain("fixes/s 100.0");
    expect(line).toContain("acks/s 125.0");
    expect(line).toContain("errors 2");
    expect(line).not.toContain("[");
  });

  it("draws a progress bar for fixed-length runs", () => {
    expect(progressBar({ done: 15, total: 30, unit: "s" })).toBe("[######------] 50% 15/30s");
    expect(progressBar({ done: 1000, total: 1000, unit: "fixes" })).toBe("[############] 100% 1000/1000");
    const line = formatStatus({ at: 0, stats: stats({}) }, undefined, { done: 3, total: 12, unit: "s" });
    expect(line.startsWith("[###---------] 25% 3/12s trucks 500/500 · fixes/s - · acks/s - · errors 0")).toBe(
      true,
    );
  });
});
