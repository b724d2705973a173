import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventMessage } from "../../core/events.ts";
import type { Fix } from "../../core/fix.ts";
import { waitFor } from "../support/wait.ts";
import { fix, HOUR, startWorker, type WorkerHarness } from "./harness.ts";

const S = 1000;
const T0 = Date.now() - 6 * HOUR;

interface EventRow {
  kind: string;
  at: number;
  confirmed: number;
}

describe("geofence events in event time", () => {
  let w: WorkerHarness;
  let depot: number;
  let strict: number;
  let loose: number;

  const addFence = async (name: string, box: [number, number, number, number], dwell: number) =>
    (
      await w.pool.query<{ id: number }>(
        // created before the test's fixes: a geofence judges only fixes after its creation
        `INSERT INTO geofences (name, polygon, dwell_seconds, created_at)
         VALUES ($1, ST_MakeEnvelope($2, $3, $4, $5, 4326), $6, now() - interval '30 days') RETURNING id::int`,
        [name, ...box, dwell],
      )
    ).rows[0]?.id as number;
  const events = async (vehicleId: string, geofenceId: number) =>
    (
      await w.pool.query<EventRow>(
        `SELECT kind, (extract(epoch FROM at) * 1000)::float8 AS at, (extract(epoch FROM confirmed_at) * 1000)::float8 AS confirmed
         FROM geofence_events WHERE vehicle_id = $1 AND geofence_id = $2 ORDER BY at, id`,
        [vehicleId, geofenceId],
      )
    ).rows;
  /** the messages of this vehicle on the events channel, once there are `n` (pub/sub is asynchronous) */
  const published = (vehicleId: string, n: number) =>
    waitFor(
      async () => (w.published as EventMessage[]).filter((m) => m.vehicleId === vehicleId),
      (msgs) => msgs.length >= n,
      { timeoutMs: 5000, what: `${n} event messages of ${vehicleId}` },
    );

  /** East along lat 25.3 every 30 s, 0.002° a fix: inside the depot (55.29…55.31) for i = 10…19. */
  const crossing = (vehicleId: string): Fix[] =>
    Array.from({ length: 31 }, (_, i) =>
      fix(vehicleId, T0 + i * 30 * S, 25.3, 55.271 + i * 0.002, { speed: 25, ignition: true }),
    );
  const enterAt = T0 + 10 * 30 * S;
  const exitAt = T0 + 20 * 30 * S;

  beforeAll(async () => {
    w = await startWorker();
    depot = await addFence("depot", [55.29, 25.29, 55.31, 25.31], 0);
    // two fences on one square farther north: one with a dwell of 60 s, one without
    strict = await addFence("yard (dwell 60 s)", [55.29, 25.39, 55.31, 25.41], 60);
    loose = await addFence("yard (no dwell)", [55.29, 25.39, 55.31, 25.41], 0);
  });
  afterAll(() => w?.close());

  it("emits exactly one enter and one exit, at the crossing fixes, when fixes arrive in order", async () => {
    for (const f of crossing("gf-ordered")) await w.send([f]);
    expect(await events("gf-ordered", depot)).toEqual([
      { kind: "enter", at: enterAt, confirmed: enterAt },
      { kind: "exit", at: exitAt, confirmed: exitAt },
    ]);
    const msgs = await published("gf-ordered", 2);
    expect(msgs.map((m) => [m.kind, m.at, m.retracted, m.late])).toEqual([
      ["enter", enterAt, false, false],
      ["exit", exitAt, false, false],
    ]);
    expect(msgs[0]).toMatchObject({
      type: "geofence",
      vehicleId: "gf-ordered",
      geofenceId: depot,
      geofenceName: "depot",
      confirmedAt: enterAt,
      lat: 25.3,
    });
    expect(msgs[0]?.lng).toBeCloseTo(55.291, 9);
  });

  it("ends with the same single enter and exit when every fix arrives on its own, newest first", async () => {
    for (const f of crossing("gf-reversed").reverse()) await w.send([f]);
    expect(await events("gf-reversed", depot)).toEqual([
      { kind: "enter", at: enterAt, confirmed: enterAt },
      { kind: "exit", at: exitAt, confirmed: exitAt },
    ]);
  });

  it("derives the enter and exit that happened in a tunnel from one late batch, in order, with nothing false", async () => {
    const track = crossing("gf-tunnel");
    await w.send(track.slice(0, 6)); // live, outside, before the tunnel
    await w.send(track.slice(26)); // live again after it, outside: no transition seen
    expect(await events("gf-tunnel", depot)).toEqual([]);
    const late = await w.send(track.slice(6, 26)); // the buffered fixes, uploaded late
    expect(late.inserted).toBe(20);
    expect(await events("gf-tunnel", depot)).toEqual([
      { kind: "enter", at: enterAt, confirmed: enterAt },
      { kind: "exit", at: exitAt, confirmed: exitAt },
    ]);
    expect((await published("gf-tunnel", 2)).map((m) => [m.kind, m.at, m.late, m.retracted])).toEqual([
      ["enter", enterAt, true, false],
      ["exit", exitAt, true, false],
    ]);
    const anomalies = await w.pool.query(
      "SELECT count(*)::int AS n FROM location_anomalies WHERE vehicle_id = 'gf-tunnel' AND kind = 'late'",
    );
    expect(anomalies.rows[0]?.n).toBe(20);
  });

  it("corrects an enter seen too late when the fixes before it arrive afterwards, and says so", async () => {
    const track = crossing("gf-corrected");
    await w.send(track.slice(15)); // the vehicle first shows up inside the depot
    expect((await events("gf-corrected", depot)).map((e) => [e.kind, e.at])).toEqual([
      ["enter", T0 + 15 * 30 * S],
      ["exit", exitAt],
    ]);
    await w.send(track.slice(0, 15));
    expect(await events("gf-corrected", depot)).toEqual([
      { kind: "enter", at: enterAt, confirmed: enterAt },
      { kind: "exit", at: exitAt, confirmed: exitAt },
    ]);
    expect((await published("gf-corrected", 4)).map((m) => [m.kind, m.at, m.retracted])).toEqual([
      ["enter", T0 + 15 * 30 * S, false],
      ["exit", exitAt, false],
      ["enter", enterAt, false],
      ["enter", T0 + 15 * 30 * S, true],
    ]);
  });

  /**
   * Every 10 s: outside; 12 fixes of jitter across the west edge (one fix in, one out); 12 fixes
   * well inside; 12 fixes of jitter across the east edge; 12 fixes well outside.
   */
  function jitter(vehicleId: string): { fixes: Fix[]; insideFrom: number; outsideFrom: number } {
    const fixes: Fix[] = [];
    const at = (lng: number) =>
      fixes.push(fix(vehicleId, T0 + fixes.length * 10 * S, 25.4, lng, { speed: 3, ignition: true }));
    for (let i = 0; i < 3; i++) at(55.28);
    for (let i = 0; i < 12; i++) at(i % 2 === 0 ? 55.2901 : 55.2899);
    const insideFrom = T0 + fixes.length * 10 * S;
    for (let i = 0; i < 12; i++) at(55.3);
    for (let i = 0; i < 12; i++) at(i % 2 === 0 ? 55.3101 : 55.3099);
    const outsideFrom = T0 + fixes.length * 10 * S;
    for (let i = 0; i < 12; i++) at(55.32);
    return { fixes, insideFrom, outsideFrom };
  }

  it("does not flap on boundary jitter with a dwell time, where a fence without one does", async () => {
    const { fixes, insideFrom, outsideFrom } = jitter("gf-jitter");
    for (let i = 0; i < fixes.length; i += 4) await w.send(fixes.slice(i, i + 4));
    expect(await events("gf-jitter", strict)).toEqual([
      { kind: "enter", at: insideFrom, confirmed: insideFrom + 60 * S },
      { kind: "exit", at: outsideFrom, confirmed: outsideFrom + 60 * S },
    ]);
    expect((await events("gf-jitter", loose)).length).toBeGreaterThanOrEqual(20);
  });

  it("gives the same dwell-confirmed events when the jittery track arrives shuffled", async () => {
    const { fixes, insideFrom, outsideFrom } = jitter("gf-jitter-shuffled");
    const batches: Fix[][] = [];
    for (let i = 0; i < fixes.length; i += 4) batches.push(fixes.slice(i, i + 4));
    for (const i of [5, 0, 12, 3, 9, 1, 7, 11, 2, 10, 4, 8, 6])
      if (batches[i]) await w.send(batches[i] as Fix[]);
    expect(await events("gf-jitter-shuffled", strict)).toEqual([
      { kind: "enter", at: insideFrom, confirmed: insideFrom + 60 * S },
      { kind: "exit", at: outsideFrom, confirmed: outsideFrom + 60 * S },
    ]);
  });
});
