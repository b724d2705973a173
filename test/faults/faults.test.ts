import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackpressureMonitor } from "../../api/backpressure.ts";
import { createPool } from "../../core/db.ts";
import { freePort } from "../../core/free-port.ts";
import { migrate } from "../../core/migrate.ts";
import { addIntegration, addVehicle, type DeviceCredentials } from "../../core/vehicles.ts";
import type { FaultResult } from "../../scripts/fault-report.ts";
import { type Fleet, startFleet } from "../../simulator/fleet.ts";
import type { OutgoingMessage } from "../../simulator/reporter.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { AckLog, countStored, type SentFix, verifyStored } from "./support/acked.ts";
import { freezeSubscriber } from "./support/frozen-subscriber.ts";
import { Pipeline } from "./support/pipeline.ts";
import { type Pressure, startPressure } from "./support/pressure.ts";
import { watchQueueDepth } from "./support/queue-depth.ts";
import { FaultRecord } from "./support/report.ts";
import { type FaultServices, startFaultServices } from "./support/services.ts";

// The fault-injection suite (issue 8): steady publishers with persistent sessions, six faults one
// after another, and for each the fixes acknowledged during it checked against PostgreSQL field by
// field. Assertions are on lost / corrupted / duplicated fixes, never on timings; every measure
// is recorded in .data/faults/results.json (support/report.ts), which `npm run faults:table`
// writes into docs/reliability.md.
const TRUCKS = 80;
const RATE = 2.5; // fixes/s per truck: 200 fixes/s from the trucks
const QUEUE_ALERT_DEPTH = 100;
const PG_DOWN_MS = 20_000;
const LOAD = `${TRUCKS} simulated trucks (simulator/fleet.ts: persistent sessions, resend) at ${RATE} fixes/s each; fault 5 adds one device uploading 100-fix /locations arrays (1,000 fixes/s), fault 6 50 devices sending 1,000 single fixes/s padded to 2 KB`;

describe.sequential("faults: every acknowledged fix is stored once, as it was sent", () => {
  const started = performance.now();
  const log = new AckLog();
  let record: FaultRecord;
  let services: FaultServices;
  let pipeline: Pipeline;
  let pool: pg.Pool;
  let fleet: Fleet;
  let pressure: Pressure | undefined;
  let depth: ReturnType<typeof watchQueueDepth>;
  let url: string;
  let mqttPort: number;
  let pressureDevices: DeviceCredentials[];
  let integration: { username: string; password: string };

  beforeAll(async () => {
    record = new FaultRecord(LOAD);
    services = await startFaultServices();
    await migrate(services.databaseUrl);
    pool = createPool(services.databaseUrl, 4);
    const vehicles: DeviceCredentials[] = [];
    for (let i = 0; i < TRUCKS; i++) vehicles.push(await addVehicle(pool, { id: `flt-${i}` }));
    pressureDevices = [];
    for (let i = 0; i < 50; i++) pressureDevices.push(await addVehicle(pool, { id: `flt-p-${i}` }));
    integration = await addIntegration(pool, "frozen-dashboard");
    mqttPort = await freePort();
    url = `mqtt://127.0.0.1:${mqttPort}`;
    pipeline = new Pipeline({
      ...process.env,
      DATABASE_URL: services.databaseUrl,
      REDIS_URL: services.redisUrl,
      MQTT_PORT: String(mqttPort),
      MQTT_WS_PORT: String(await freePort()),
      MQTT_HOST: "127.0.0.1",
      QUEUE_ALERT_DEPTH: String(QUEUE_ALERT_DEPTH),
    });
    await pipeline.start("worker");
    await pipeline.start("broker");
    depth = watchQueueDepth(services.redisUrl);

    const sentAt = new WeakMap<OutgoingMessage, number>();
    fleet = startFleet({
      url,
      vehicles,
      rate: RATE,
      seed: "faults",
      // back on the air quickly after a broker restart, still with jitter
      reconnect: { initialMs: 250, maxMs: 2000 },
      hooks: {
        onMessage: (m) => sentAt.set(m, performance.now()),
        onAck: (m) => {
          const vehicleId = m.fixes[0]?.vehicleId;
          if (!vehicleId) return;
          const parsed = JSON.parse(m.payload.toString()) as SentFix | SentFix[];
          log.record(vehicleId, Array.isArray(parsed) ? parsed : [parsed], sentAt.get(m) ?? 0, "trucks");
        },
      },
    });
    await waitFor(
      async () => fleet.stats().connectedTrucks,
      (n) => n === TRUCKS,
      { what: "every truck connected" },
    );
    log.phase = "warm-up";
    await sleep(3000);
  }, 240_000);

  afterAll(async () => {
    await pressure?.stop();
    await fleet?.stop(5000);
    await depth?.close();
    await pipeline?.stop();
    await pool?.end();
    await services?.stop();
  }, 120_000);

  /** Every fix acknowledged until now is in PostgreSQL: seconds it took (bounded wait). */
  async function catchUp(timeoutMs = 120_000): Promise<number | null> {
    const t0 = performance.now();
    const due = log.list();
    const ok = await waitFor(
      () => countStored(pool, due).catch(() => -1),
      (n) => n === due.length,
      { timeoutMs, intervalMs: 250, what: `${due.length} acknowledged fixes stored` },
    ).then(
      () => true,
      () => false,
    );
    return ok ? (performance.now() - t0) / 1000 : null;
  }

  function ackStats(phase: string): { gapS: number; p99Ms: number; fixes: number } {
    const acks = log.acks.filter((a) => a.phase === phase);
    let gap = 0;
    for (let i = 1; i < acks.length; i++) gap = Math.max(gap, (acks[i]?.at ?? 0) - (acks[i - 1]?.at ?? 0));
    const lat = acks.map((a) => a.latencyMs).sort((a, b) => a - b);
    return {
      gapS: gap / 1000,
      p99Ms: lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))] ?? 0,
      fixes: acks.reduce((n, a) => n + a.fixes, 0),
    };
  }

  /**
   * Runs one fault: steady load, inject, hold, clear, catch up, steady load; then checks every fix
   * acknowledged during that window (lost, corrupted, duplicates) and records the row of the table.
   */
  async function runFault(o: {
    id: string;
    fault: string;
    inject: () => Promise<void>;
    clear: () => Promise<void>;
    holdMs: number;
    note?: () => string;
  }): Promise<FaultResult> {
    log.phase = o.id;
    depth.takeMax();
    await sleep(2000);
    await o.inject();
    await sleep(o.holdMs);
    await o.clear();
    const catchUpS = await catchUp();
    await sleep(2000);
    log.phase = `after-${o.id}`;
    const fixes = log.list(o.id);
    await catchUp();
    const v = await verifyStored(pool, fixes);
    const a = ackStats(o.id);
    const r: FaultResult = {
      id: o.id,
      fault: o.fault,
      acked: fixes.length,
      lost: v.lost,
      corrupted: v.corrupted,
      duplicates: v.duplicates,
      ackGapS: a.gapS,
      ackP99Ms: a.p99Ms,
      catchUpS,
      maxQueueDepth: depth.takeMax(),
      note: o.note?.() ?? "",
    };
    record.add(r);
    console.log(JSON.stringify(r), v.examples);
    return r;
  }

  function expectIntact(r: FaultResult): void {
    // a process that died under the fault explains everything else: say so first
    expect(pipeline.unexpectedExits).toEqual([]);
    expect(r.acked).toBeGreaterThan(0);
    expect({ lost: r.lost, corrupted: r.corrupted, duplicates: r.duplicates }).toEqual({
      lost: 0,
      corrupted: 0,
      duplicates: 0,
    });
  }

  it("1. worker SIGKILLed mid-stream and restarted", async () => {
    const r = await runFault({
      id: "1",
      fault: "worker SIGKILL, restarted 2 s later",
      inject: () => pipeline.kill("worker"),
      holdMs: 2000,
      clear: () => pipeline.start("worker"),
      note: () => "jobs of the killed worker are stalled, retried by the new one (ON CONFLICT DO NOTHING)",
    });
    expectIntact(r);
  });

  it("2. PostgreSQL stopped for 20 s, then started", async () => {
    const r = await runFault({
      id: "2",
      fault: "PostgreSQL stopped 20 s (`scripts/services stop-pg`) while the worker is inside transactions",
      inject: async () => {
        // hold the worker's batches inside their transactions, so the stop cuts connections that
        // are checked out of the pool (not only idle ones)
        const lock = new pg.Client({ connectionString: services.databaseUrl });
        lock.on("error", () => {});
        await lock.connect();
        await lock.query("BEGIN");
        await lock.query("LOCK TABLE vehicle_locations IN EXCLUSIVE MODE");
        await sleep(1000);
        await services.stopPg();
      },
      holdMs: PG_DOWN_MS,
      clear: () => services.start(),
      note: () => "PUBACKs continue (the queue takes the fixes); failed jobs retry with capped backoff",
    });
    expectIntact(r);
  });

  it("3. Redis killed (SIGKILL) and restarted with its AOF", async () => {
    const r = await runFault({
      id: "3",
      fault: "Redis SIGKILL, restarted 3 s later (AOF)",
      inject: () => services.killRedis(),
      holdMs: 3000,
      clear: () => services.start(),
      note: () => "PUBACKs held while Redis is down (bridge retries the add), released after",
    });
    expectIntact(r);
  });

  it("4. broker SIGKILLed and restarted; devices reconnect and resend what was not acknowledged", async () => {
    const resentBefore = fleet.stats().resent;
    const r = await runFault({
      id: "4",
      fault: "broker SIGKILL, restarted at once",
      inject: () => pipeline.kill("broker"),
      holdMs: 0,
      clear: async () => {
        await pipeline.start("broker");
        await waitFor(
          async () => fleet.stats().connectedTrucks,
          (n) => n === TRUCKS,
          { what: "every truck reconnected" },
        );
      },
      note: () =>
        `sessions were in memory: the trucks resent ${fleet.stats().resent - resentBefore} unacknowledged fixes`,
    });
    expectIntact(r);
  });

  it("5. worker saturated: PostgreSQL writes blocked under doubled load, the queue passes QUEUE_ALERT_DEPTH", async () => {
    const warnings: string[] = [];
    const monitor = new BackpressureMonitor(
      depth.queue,
      QUEUE_ALERT_DEPTH,
      pino({ level: "warn" }, { write: (l: string) => warnings.push(l) }),
    );
    let alerted = false;
    const lock = new pg.Client({ connectionString: services.databaseUrl });
    await lock.connect();
    let poll: NodeJS.Timeout | undefined;
    const r = await runFault({
      id: "5",
      fault: "worker saturated: vehicle_locations write-locked 8 s under +1,000 fixes/s",
      inject: async () => {
        // one device uploading 100-fix arrays, 10 a second
        pressure = await startPressure({
          url,
          devices: pressureDevices.slice(0, 1),
          messagesPerSecond: 10,
          fixesPerMessage: 100,
          log,
        });
        await lock.query("BEGIN");
        // every batch's INSERT waits behind this lock: the worker's slots fill, the queue grows
        await lock.query("LOCK TABLE vehicle_locations IN EXCLUSIVE MODE");
        poll = setInterval(
          () =>
            void monitor.check().then(
              (a) => (alerted ||= a),
              () => {},
            ),
          500,
        );
      },
      holdMs: 8000,
      clear: async () => {
        await lock.query("COMMIT");
        await pressure?.stop();
        pressure = undefined;
        clearInterval(poll);
      },
      note: () =>
        `QUEUE_ALERT_DEPTH ${QUEUE_ALERT_DEPTH}: backpressure warning ${alerted ? "raised" : "NOT raised"}`,
    });
    await lock.end();
    expect(r.maxQueueDepth).toBeGreaterThan(QUEUE_ALERT_DEPTH);
    expect(alerted).toBe(true);
    expect(warnings.join("")).toMatch(/queue backpressure/);
    expectIntact(r);
  });

  it("6. a subscriber that stops reading its socket does not stall ingest", async () => {
    const windowMs = 15_000;
    // 50 more devices, 1,000 single-fix messages a second padded to 2 KB: 2 MB/s and 1,200 messages
    // a second forwarded to every fleet/# subscriber (enough to fill Aedes' 1,000 deliveries in flight)
    pressure = await startPressure({
      url,
      devices: pressureDevices,
      messagesPerSecond: 1000,
      fixesPerMessage: 1,
      padBytes: 2000,
      log,
    });
    // the same load without, then with, a frozen fleet/# subscriber: fixes acknowledged per window
    const fixesIn = (from: number) =>
      log.acks.filter((a) => a.at >= from && a.at < from + windowMs).reduce((n, a) => n + a.fixes, 0);
    log.phase = "6-baseline";
    await sleep(2000);
    const baselineFrom = performance.now();
    await sleep(windowMs);
    let frozenAt = 0;
    let frozenAtMs = 0;
    let frozen: Awaited<ReturnType<typeof freezeSubscriber>> | undefined;
    // the broker says when it dropped the subscriber (byte ceiling, or drain timeout)
    const droppedAtMs = () => {
      for (const l of pipeline.lines("broker")) {
        if (!/subscriber not reading|"err":"drain timeout"/.test(l)) continue;
        const entry = JSON.parse(l) as { time: number; clientId?: string };
        if (entry.clientId === `${integration.username}:frozen`) return entry.time;
      }
      return undefined;
    };
    const r = await runFault({
      id: "6",
      fault: "an integration subscribed to fleet/# stops reading its socket",
      inject: async () => {
        frozen = await freezeSubscriber({ port: mqttPort, ...integration });
        frozenAt = performance.now();
        frozenAtMs = Date.now();
      },
      holdMs: windowMs,
      clear: async () => {
        await pressure?.stop();
        pressure = undefined;
      },
      note: () => {
        const base = fixesIn(baselineFrom);
        const during = fixesIn(frozenAt);
        const dropped = droppedAtMs();
        return (
          `fixes acknowledged in ${windowMs / 1000} s with it frozen / without it: ${during}/${base} = ${(during / base).toFixed(2)}; ` +
          `${dropped === undefined ? "not dropped yet" : `the broker dropped it ${((dropped - frozenAtMs) / 1000).toFixed(1)} s after it froze`}`
        );
      },
    });
    frozen?.close();
    expectIntact(r);
    // whichever comes first: MQTT_MAX_SUBSCRIBER_BUFFER_BYTES or MQTT_DRAIN_TIMEOUT_MS
    await waitFor(
      async () => droppedAtMs(),
      (t) => t !== undefined,
      { timeoutMs: 30_000, what: "the broker to drop the frozen subscriber" },
    );
  });

  it("stores every fix acknowledged during the whole run exactly once", async () => {
    log.phase = "drain";
    await fleet.stop(15_000);
    await catchUp();
    const all = log.list();
    const v = await verifyStored(pool, all);
    const dup = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM vehicle_locations GROUP BY vehicle_id, recorded_at
       HAVING count(*) > 1) d`,
    );
    const total = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM vehicle_locations");
    const rejected = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM rejected_messages");
    record.finish(
      {
        acked: all.length,
        lost: v.lost,
        corrupted: v.corrupted,
        duplicates: v.duplicates + (dup.rows[0]?.n ?? 0),
        storedUnacked: (total.rows[0]?.n ?? 0) - (all.length - v.lost),
      },
      (performance.now() - started) / 1000,
    );
    expect(v.examples).toEqual([]);
    expect({ lost: v.lost, corrupted: v.corrupted, duplicates: v.duplicates }).toEqual({
      lost: 0,
      corrupted: 0,
      duplicates: 0,
    });
    expect(dup.rows[0]?.n).toBe(0);
    expect(rejected.rows[0]?.n).toBe(0);
    expect(pipeline.unexpectedExits).toEqual([]);
    expect(record.run.results.map((r) => r.id)).toEqual(["1", "2", "3", "4", "5", "6"]);
  });
});
