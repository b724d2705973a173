/** The shape of one `npm run bench` run (load/bench/results.json). */
export interface Step {
  offeredMsgs: number;
  /** a step between the last sustained and the first failing rate (LadderOptions.refine) */
  refined?: boolean | undefined;
  /** messages a second the load generators actually sent over the whole run (a pre-roll included); below offered when they fell behind */
  sentMsgs?: number | undefined;
  offeredFixes: number;
  deliveredFixes: number;
  /** fixes whose PUBACK the publishers received in this step */
  fixesAcked: number;
  ackP50: number;
  ackP99: number;
  /** exact publish→commit latency of the step's stored messages (load/bench/commit-latency.ts) */
  commitP50?: number | undefined;
  commitP99?: number | undefined;
  /** messages published in the step's window whose commit was measured */
  committedMsgs?: number | undefined;
  /**
   * the seconds the step published before its window (LadderOptions.preRollSeconds), and the exact
   * commit p99 of what was published in them: not judged, shown
   */
  preRoll?: { seconds: number; commitP99?: number | undefined } | undefined;
  /** devices whose parking fix was acknowledged after the step (LadderOptions.park); absent: not parked */
  parked?: number | undefined;
  /** seconds the system took, after the step, to store what it had accepted */
  drainS?: number | undefined;
  loadCpuShare: number;
  /** CPU used in the measured window by the system's processes, in cores (broker, worker …) */
  cpu?: Record<string, number> | undefined;
  rssMB: number;
  /** per message, when the step asked for it (the overload step) */
  reconciled?: Reconciliation | undefined;
  /** MQTT devices: PUBLISH packets written (a resend counts again), those whose connection the
   * broker closed before their PUBACK (shedding: sent again), and the reconnects that followed */
  transmissions?: number | undefined;
  refusedTransmissions?: number | undefined;
  reconnects?: number | undefined;
  /** messages sent and still waiting for their answer (neither acknowledged nor refused) when the
   * generators stopped, their grace period over; absent in runs made before it was counted */
  unanswered?: number | undefined;
  sustained: boolean;
  /** why a step was not sustained, e.g. "delivered 80 %", "commit p99 1,240 ms", "generator sent 91 %" */
  failed?: string | undefined;
}

export interface ThroughputRun {
  sut: string;
  /** which repetition of the throughput section (`--repeat`), from 1 */
  repetition?: number | undefined;
  mode: "single" | "batch50";
  devices: number;
  steps: Step[];
  /** the step run before the ladder to warm the system (JIT, pools, caches); not counted */
  warmup?: Step | undefined;
  /** highest delivered fixes/s of a sustained step, at most its offer (0 when no step was sustained; runs before 2026-12-07 21:48 uncapped) */
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

/** Every message of a step against the database (load/bench/reconcile.ts). */
export interface Reconciliation {
  sent: number;
  acked: number;
  stored: number;
  /** lost: acknowledged, never stored; must be 0 */
  ackedNotStored: number;
  storedNotAcked: number;
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
  /** per message: sent, acknowledged, stored, lost */
  reconciled?: Reconciliation | undefined;
  /** the system's RSS before the overload, and a minute after it ended */
  rssBeforeMB?: number | undefined;
  rssMinuteAfterMB?: number | undefined;
  /** the load generators' share of the machine during the overload, 0-1 */
  loadCpuShare?: number | undefined;
  /** CPU used by the system's processes during the overload, in cores */
  cpu?: Record<string, number> | undefined;
  /** publishes sent again after the broker closed their connection unanswered, and reconnects */
  refusedTransmissions?: number | undefined;
  reconnects?: number | undefined;
}

export interface ConnectionsRun {
  target: number;
  /** open with CONNACK 0 once every device had tried */
  held: number;
  /** still open after a keepalive period and a half of PINGREQs */
  heldAfterKeepalive?: number | undefined;
  keepaliveS?: number | undefined;
  /** the pace the devices connected at, per second, and how long connecting took */
  perSecond?: number | undefined;
  connectS?: number | undefined;
  /** CONNACK return codes, "reset" (closed before a CONNACK) and "timeout" */
  codes?: Record<string, number> | undefined;
  /** the broker's refusal counters that moved during the step */
  brokerRefusals?: Record<string, number> | undefined;
  rssBeforeMB: number;
  /** after the keepalive period */
  rssAfterMB: number;
  /** (RSS after the keepalive period − before) / connections held then */
  bytesPerConnection: number;
  bytesPerConnectionAtConnect?: number | undefined;
  /** the open-file limit of a process on this machine (ulimit -n) */
  fdLimit?: number | undefined;
}

export interface QueryRun {
  rows: number;
  name: string;
  runs?: number | undefined;
  /** fixes/s the pipeline stored while the queries ran (0: an idle database) */
  ingestFixesPerS?: number | undefined;
  p50: number;
  p99: number;
}

/** What the machine costs, measured before the systems (load/bench/calibration.ts). */
export interface Calibration {
  redisRttUs: number;
  pgRttUs: number;
  /** 8 KiB write + fdatasync where the bench's PostgreSQL keeps its data */
  fsyncUs: number;
  /** one fstat(2): the cost of entering and leaving the kernel */
  syscallNs: number;
  /** the kernel's share of all busy CPU time during the run (filled in at the end) */
  kernelShare?: number | undefined;
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
  /**
   * repetitions after the first (`without`, `with` above), each pair on fresh pipelines in the
   * same order; absent in runs made before repetitions (one pair only)
   */
  more?: { without: ThroughputRun; with: ThroughputRun; alertsWithout: number; alertsWith: number }[];
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
  calibration?: Calibration | undefined;
  command: string;
  quick: boolean;
  throughput: ThroughputRun[];
  raw: RawRun[];
  overload?: OverloadRun | undefined;
  connections?: ConnectionsRun | undefined;
  queries: QueryRun[];
  alerts?: AlertsRun | undefined;
}
