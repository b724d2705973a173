import { parseArgs } from "node:util";
import { rulesOf, type Version } from "../../worker/derive/alert-rules.ts";
import {
  initialState,
  type MachineRules,
  type MachineState,
  runMachine,
  type TrackFix,
} from "../../worker/derive/vehicle-machine.ts";
import { benchFences, benchRules } from "./alert-fixtures.ts";
import { usageOr, wholeNumber, wholeNumbers } from "./args.ts";

/**
 * `npm run -s bench:machine -- [--vehicles 2000] [--rounds 40] [--fixes-per-batch 1,4]`: the
 * vehicle machine's CPU per fix (worker/derive/vehicle-machine.ts) with the alerts section's 100
 * rules (alert-fixtures.ts: 50 speeding, 50 geofence, every other one scoped to a group of every
 * other vehicle) against none, in one process, side by side: each round runs every vehicle's
 * next batch once without rules and once with them, alternating which goes first. The fixes are
 * what load/bench/publisher.ts sends (vehicle j's speed cycles over (j + k × vehicles) mod 120
 * km/h), and each batch's state goes through JSON and back as it does through jsonb between the
 * worker's batches. Reports the fastest round of each (the least disturbed on a shared machine)
 * and the rules' extra µs per fix. No database, no network: the machine alone.
 */
const { values: args } = usageOr(() =>
  parseArgs({
    options: {
      vehicles: { type: "string", default: "2000" },
      rounds: { type: "string", default: "40" },
      "fixes-per-batch": { type: "string", default: "1,4" },
    },
  }),
);
const { vehicles, rounds, perBatch } = usageOr(() => ({
  vehicles: wholeNumber("vehicles", args.vehicles as string, 1, 100_000),
  rounds: wholeNumber("rounds", args.rounds as string, 3, 10_000),
  perBatch: wholeNumbers("fixes-per-batch", args["fixes-per-batch"] as string, 1, 1000),
}));

const GROUP = 1;
const fenceIds = benchFences().map((_, k) => k + 1);
const versions: Version[] = benchRules(50, fenceIds, GROUP).map((r, i) => ({
  ruleId: i + 1,
  name: r.name,
  kind: r.kind,
  params: r.params,
  quietHours: null,
  scope: r.scope,
  from: 0,
  to: Number.POSITIVE_INFINITY,
}));
const inGroup = new Set([GROUP]);
const base: MachineRules = {
  movingSpeedKmh: 5,
  stopMinMs: 300_000,
  tripMinDistanceM: 200,
  gapMs: 300_000,
  checkpointEveryMs: 3_600_000,
  // the fences exist; the fixes are in none of them (their events are the machine's, not the rules')
  fenceAt: () => ({ shapeSince: 0, dwellMs: 0 }),
};

interface Fleet {
  rules: MachineRules[];
  states: MachineState[];
  episodes: number;
}

function fleet(withRules: boolean): Fleet {
  return {
    rules: Array.from({ length: vehicles }, (_, j) => ({
      ...base,
      alerts: {
        rules: rulesOf(withRules ? versions : [], `v${j}`, j % 2 === 0 ? inGroup : undefined),
        fleetTz: "UTC",
      },
    })),
    states: Array.from({ length: vehicles }, () => initialState()),
    episodes: 0,
  };
}

const T0 = 1_700_000_000_000;

/** Every vehicle's batch of fixes k … k + size - 1; returns the milliseconds it took. */
function round(f: Fleet, k: number, size: number): number {
  const started = performance.now();
  for (let j = 0; j < vehicles; j++) {
    const fixes: TrackFix[] = [];
    for (let i = k; i < k + size; i++)
      fixes.push({
        t: T0 + i * 1000,
        lat: 25 + j * 0.0005,
        lng: 55 + ((j + i * vehicles) % 100) * 0.0001,
        speed: (j + i * vehicles) % 120,
        ignition: null,
        d: 10,
        fences: [],
        insideAtChange: [],
      });
    const state = JSON.parse(JSON.stringify(f.states[j])) as MachineState;
    f.episodes += runMachine(state, fixes, f.rules[j] as MachineRules).alerts.length;
    f.states[j] = state;
  }
  return performance.now() - started;
}

const rows: string[] = [];
for (const size of perBatch) {
  const none = fleet(false);
  const rules = fleet(true);
  let bestNone = Number.POSITIVE_INFINITY;
  let bestRules = Number.POSITIVE_INFINITY;
  // a fifth of the rounds (at least two) warm both up first
  const warm = Math.max(2, Math.floor(rounds / 5));
  for (let r = 0; r < warm + rounds; r++) {
    const k = r * size;
    const a = r % 2 === 0 ? round(none, k, size) : 0;
    const b = round(rules, k, size);
    const c = r % 2 === 1 ? round(none, k, size) : a;
    if (r < warm) continue;
    bestNone = Math.min(bestNone, c);
    bestRules = Math.min(bestRules, b);
  }
  const fixes = vehicles * size;
  const n = (bestNone * 1000) / fixes;
  const w = (bestRules * 1000) / fixes;
  rows.push(
    `| ${size} | ${n.toFixed(2)} | ${w.toFixed(2)} | ${(w - n).toFixed(2)} | ${(n / w).toFixed(2)} | ${rules.episodes} |`,
  );
}
process.stdout.write(
  `vehicle machine, ${vehicles} vehicles, ${rounds} rounds (fastest of each), µs per fix:\n` +
    "| fixes per batch | no rules | 100 rules | rules' extra | none / rules | episodes (with rules) |\n" +
    "|---|---|---|---|---|---|\n" +
    `${rows.join("\n")}\n`,
);
