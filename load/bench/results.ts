/** The shape of one `npm run bench` run (load/bench/results.json). */
export interface Step {
  offeredMsgs: number;
  offeredFixes: number;
  deliveredFixes: number;
  /** fixes whose PUBACK the publishers received in this step */
  fixesAcked: number;
  ackP50: number;
  ackP99: number;
  commitP50?: number | undefined;
  commitP99?: number | undefined;
  loadCpuShare: number;
  /** CPU used in the measured window by the system's processes, in cores (broker, worker …) */
  cpu?: Record<string, number> | undefined;
  rssMB: number;
  sustained: boolean;
}

export interface ThroughputRun {
  sut: string;
  mode: "single" | "batch50";
  devices: number;
  steps: Step[];
  /** highest sustained delivered fixes/s (0 when no step was sustained) */
  maxSustained: number;
  /** highest delivered fixes/s of any step, sustained or not */
  peakDelivered: number;
}

export interface RawRun {
  method: string;
  batch: number;
  parallel: number;
  rowsPerSec: number;
}

export interface OverloadRun {
  offeredFixes: number;
  deliveredFixes: number;
  ackP99: number;
  commitP99?: number | undefined;
  peakRssMB: number;
  rssAfterMB: number;
  acked: number;
  stored: number;
  recoveredInS: number;
  /** the load generators' share of the machine during the overload, 0-1 */
  loadCpuShare?: number | undefined;
  /** CPU used by the system's processes during the overload, in cores */
  cpu?: Record<string, number> | undefined;
}

export interface ConnectionsRun {
  target: number;
  held: number;
  rssBeforeMB: number;
  rssAfterMB: number;
  bytesPerConnection: number;
}

export interface QueryRun {
  rows: number;
  name: string;
  p50: number;
  p99: number;
}

/** Ingest with alert rules against none, and the alert latency (load/bench/alerts.ts). */
export interface AlertsRun {
  devices: number;
  rules: { speeding: number; geofence: number; geofences: number };
  /** the single-fix ladder with the geofences and no rules */
  without: ThroughputRun;
  /** the same with the rules */
  with: ThroughputRun;
  /** alert episodes stored by each ladder */
  alertsWithout: number;
  alertsWith: number;
  /** triggering fix's PUBACK → its start webhook's receipt, ms, exact percentiles of the samples */
  latency: LatencyFigures & { vehicles: number; seconds: number };
}

export interface LatencyFigures {
  /** triggering fixes acknowledged */
  triggers: number;
  /** of them, how many got their `start` webhook */
  received: number;
  p50: number;
  p99: number;
  max: number;
  /** webhook bodies whose signature did not verify */
  badSignatures: number;
}

export interface BenchResults {
  machine: { cores: number; memGiB: number; cpu: string; node: string; date: string };
  command: string;
  quick: boolean;
  throughput: ThroughputRun[];
  raw: RawRun[];
  overload?: OverloadRun | undefined;
  connections?: ConnectionsRun | undefined;
  queries: QueryRun[];
  alerts?: AlertsRun | undefined;
}
