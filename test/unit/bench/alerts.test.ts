import { describe, expect, it } from "vitest";
import { alertParamsSchemas, alertScopeSchema } from "../../../core/alert-params.ts";
import { benchFences, benchRules } from "../../../load/bench/alert-fixtures.ts";
import {
  latencyFigures,
  matchLatencies,
  type Receipt,
  triggerKey,
} from "../../../load/bench/alert-latency.ts";
import { renderMarkdown } from "../../../load/bench/report.ts";
import { cpuPerThousand, renderAlerts } from "../../../load/bench/report-alerts.ts";
import type { AlertsRun, BenchResults, Step, ThroughputRun } from "../../../load/bench/results.ts";

const t0 = Date.parse("2026-12-06T10:00:00.000Z");
const receipt = (vehicleId: string, t: number, at: number, phase = "start"): Receipt => ({
  vehicleId,
  startedAt: new Date(t).toISOString(),
  phase,
  at,
});

describe("alert latency: PUBACK of the triggering fix → its start webhook", () => {
  it("matches by vehicle and episode start, counts a redelivery once and ignores end phases and strangers", () => {
    const acks = new Map([
      [triggerKey("v1", t0), 100],
      [triggerKey("v2", t0), 110],
      [triggerKey("v1", t0 + 1000), 1100],
    ]);
    const got = matchLatencies(acks, [
      receipt("v1", t0, 150),
      receipt("v1", t0, 900, "end"),
      receipt("v1", t0, 400), // the same delivery again
      receipt("v2", t0, 140),
      receipt("v3", t0, 500), // no fix of ours started it
      receipt("v1", t0 + 1000, 1180),
    ]);
    expect(got).toEqual([50, 30, 80]);
  });

  it("gives exact percentiles of the samples and says how many triggers got no webhook", () => {
    const acks = new Map<string, number>();
    const receipts: Receipt[] = [];
    for (let i = 1; i <= 200; i++) {
      acks.set(triggerKey("v", t0 + i), 0);
      // 100 of the 200 answered, after 1..100 ms
      if (i <= 100) receipts.push(receipt("v", t0 + i, i));
    }
    const f = latencyFigures(acks, receipts.reverse(), 2);
    expect(f).toEqual({ triggers: 200, received: 100, p50: 50, p99: 99, max: 100, badSignatures: 2 });
  });
});

describe("the bench's alert rules", () => {
  const fences = benchFences();
  const rules = benchRules(50, [11, 12, 13], 7);

  it("are rules the API would accept, scoped half to the fleet and half to the group", () => {
    for (const r of rules) {
      expect(alertParamsSchemas[r.kind].safeParse(r.params).success, JSON.stringify(r)).toBe(true);
      expect(alertScopeSchema.safeParse(r.scope).success).toBe(true);
    }
    expect(rules.filter((r) => r.scope.kind === "group" && r.scope.groupId === 7)).toHaveLength(28);
    expect(rules.filter((r) => r.scope.kind === "fleet")).toHaveLength(28);
  });

  it("hold 50 speeding rules, two firing at a fix over 117 or 118 km/h (the publishers send up to 119)", () => {
    const speeding = rules.filter((r) => r.kind === "speeding").map((r) => r.params);
    expect(speeding).toHaveLength(50);
    expect(speeding.filter((p) => p.minSeconds === 0)).toEqual([
      { limitKmh: 117, minSeconds: 0 },
      { limitKmh: 118, minSeconds: 0 },
    ]);
    const limits = speeding.map((p) => p.limitKmh as number);
    expect(Math.min(...limits)).toBeGreaterThanOrEqual(40);
    expect(Math.max(...limits)).toBeLessThan(120);
  });

  it("hold an enter and an exit rule for every geofence", () => {
    const fenceRules = rules.filter((r) => r.kind !== "speeding");
    expect(fenceRules.map((r) => `${r.kind} ${r.params.geofenceId}`)).toEqual([
      "geofence_enter 11",
      "geofence_exit 11",
      "geofence_enter 12",
      "geofence_exit 12",
      "geofence_enter 13",
      "geofence_exit 13",
    ]);
  });

  it("lay geofences over the publishers' positions, with an edge their longitudes cross", () => {
    expect(fences).toHaveLength(25);
    // load/bench/publisher.ts: latitude 25 + j × 0.0005, longitude 55 + (j + k × devices) mod 1000 × 0.0001
    const inside = (lat: number, lng: number) =>
      fences.some(([w, s, e, n]) => lng >= w && lng <= e && lat >= s && lat <= n);
    expect(inside(25.0005, 55.01)).toBe(true);
    expect(inside(25.0005, 55.08)).toBe(false);
    expect(inside(25.005, 55.01)).toBe(false);
  });
});

const run = (sut: string, delivered: number[]): ThroughputRun => ({
  sut,
  mode: "single",
  devices: 500,
  steps: delivered.map((d, i) => ({
    offeredMsgs: 3000 * (i + 1),
    offeredFixes: 3000 * (i + 1),
    deliveredFixes: d,
    fixesAcked: d,
    ackP50: 2,
    ackP99: 9,
    loadCpuShare: 0.4,
    rssMB: 120,
    sustained: d >= 0.95 * 3000 * (i + 1),
  })),
  maxSustained: Math.max(0, ...delivered.filter((d, i) => d >= 0.95 * 3000 * (i + 1))),
  peakDelivered: Math.max(...delivered),
});

const alerts: AlertsRun = {
  devices: 500,
  rules: { speeding: 50, geofence: 50, geofences: 25 },
  without: run("pipeline, no rules", [3000, 6000, 7000]),
  with: run("pipeline, 100 rules", [3000, 5000]),
  alertsWithout: 0,
  alertsWith: 740,
  latency: {
    vehicles: 20,
    seconds: 10,
    triggers: 196,
    received: 196,
    p50: 120.4,
    p99: 480.2,
    max: 510,
    badSignatures: 0,
  },
};

/** a run of the alerts section alone */
const onlyAlerts = (a: AlertsRun): BenchResults => ({
  machine: { cores: 2, memGiB: 24, cpu: "test cpu", node: "v20", date: "2026-12-06" },
  command: "npm run bench -- --only alerts",
  quick: false,
  throughput: [],
  raw: [],
  queries: [],
  alerts: a,
});

describe("the alerts section of the report", () => {
  it("charges each step's CPU to the fixes it delivered", () => {
    const s = {
      ...(alerts.with.steps[0] as Step),
      deliveredFixes: 2000,
      cpu: { worker: 0.5, postgres: 0.3 },
    };
    expect(cpuPerThousand(s, "worker")).toBe(250);
    expect(cpuPerThousand(s)).toBe(400);
    expect(cpuPerThousand({ ...s, cpu: undefined })).toBeUndefined();
  });

  it("shows both ladders, the ratio against the goal and the latency", () => {
    const md = renderAlerts(alerts);
    expect(md).toContain("| none | 6,000 | 6,000 |");
    expect(md).toContain("| 100 | 6,000 | 5,000 |");
    expect(md).toContain("| 100 | 3,000 | 5,000 | 740 |");
    expect(md).toContain("Ratio, max sustained with 100 rules / none: **0.50** (goal ≥ 0.9)");
    expect(md).toContain("| 196 | 196 | 120.4 | 480.2 | 510 | 0 |");
  });

  it("shows every repetition's ladders and judges the goal on the median of the pairs' ratios", () => {
    const repeated: AlertsRun = {
      ...alerts,
      more: [
        // ratios 0.50 (the first pair), 1.00 and 0.95: median 0.95
        {
          without: run("pipeline, no rules", [3000, 6000]),
          with: run("pipeline, 100 rules", [3000, 6000]),
          alertsWithout: 0,
          alertsWith: 800,
        },
        {
          without: run("pipeline, no rules", [3000, 6000]),
          with: run("pipeline, 100 rules", [3000, 5700]),
          alertsWithout: 0,
          alertsWith: 790,
        },
      ],
    };
    const md = renderAlerts(repeated);
    expect(md).toContain("| none (run 1) | 6,000 | 6,000 |");
    expect(md).toContain("| 100 (run 3) | 6,000 | 5,700 |");
    expect(md).toContain("| 100 (run 2) | 6,000 | 6,000 | 800 |");
    expect(md).toContain(
      "Ratio, max sustained with 100 rules / none in each of the 3 pairs 0.50, 1.00, 0.95; median (range): **0.95 (0.50–1.00)** (goal ≥ 0.9)",
    );
    expect(renderMarkdown(onlyAlerts(repeated))).toContain(
      "| ingest with 100 alert rules / none | 0.95 (0.50–1.00) | ≥ 0.9 | yes |",
    );
  });

  it("adds the goal to the ratios of a run that has it", () => {
    const md = renderMarkdown(onlyAlerts(alerts));
    expect(md).toContain("### Alerts: ingest with alert rules against none, and alert latency");
    expect(md).toContain("| ingest with 100 alert rules / none | 0.50 | ≥ 0.9 | **no** |");
  });
});
