import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventMessage } from "../../core/events.ts";
import type { Fix } from "../../core/fix.ts";
import { fix, MINUTE, startWorker, type WorkerHarness } from "./harness.ts";

const S = 1000;
type Box = [number, number, number, number];

/**
 * Geofences change while vehicles drive: the worker judges each fix against the geofence as it
 * was at the fix's recorded time, so deleting or editing one never rewrites what already happened,
 * and a save puts no vehicle across a boundary it did not cross. Saves and deletes happen at the
 * test's wall-clock time; the fixes around them are dated before and after it.
 */
describe("geofence versions in event time", () => {
  let w: WorkerHarness;

  /** a geofence that has existed since yesterday (created_at backdated) */
  const oldFence = async (name: string, box: Box) =>
    (
      await w.pool.query<{ id: number }>(
        `INSERT INTO geofences (name, polygon, created_at, updated_at)
         VALUES ($1, ST_MakeEnvelope($2, $3, $4, $5, 4326), now() - interval '1 day', now() - interval '1 day')
         RETURNING id::int`,
        [name, ...box],
      )
    ).rows[0]?.id as number;
  /** a geofence saved now; resolves with the wall-clock time after the save */
  const saveFence = async (name: string, box: Box) => {
    await w.pool.query(
      "INSERT INTO geofences (name, polygon) VALUES ($1, ST_MakeEnvelope($2, $3, $4, $5, 4326))",
      [name, ...box],
    );
    return Date.now();
  };
  /** the edit PUT /api/geofences/:id makes; resolves with the wall-clock time after it */
  const editFence = async (id: number, box: Box) => {
    await w.pool.query(
      `UPDATE geofences SET polygon = ST_MakeEnvelope($2, $3, $4, $5, 4326), version = version + 1, updated_at = now()
       WHERE id = $1`,
      [id, ...box],
    );
    return Date.now();
  };
  const events = async (vehicleId: string) =>
    (
      await w.pool.query<{ id: number; kind: string; at: number; name: string }>(
        `SELECT id::int, kind, (extract(epoch FROM at) * 1000)::float8 AS at, geofence_name AS name
         FROM geofence_events WHERE vehicle_id = $1 ORDER BY at, id`,
        [vehicleId],
      )
    ).rows;
  const kinds = async (vehicleId: string, t0: number) =>
    (await events(vehicleId)).map((e) => [e.kind, (e.at - t0) / S]);
  const parked = (vehicleId: string, from: number, n: number, lat: number, lng: number): Fix[] =>
    Array.from({ length: n }, (_, i) =>
      fix(vehicleId, from + i * 30 * S, lat, lng, { speed: 0, ignition: false }),
    );

  beforeAll(async () => {
    w = await startWorker();
  });
  afterAll(() => w?.close());

  describe("a geofence deleted between a crossing and a late upload", () => {
    const T0 = Date.now() - 60 * MINUTE;
    /** east along lat 25.3 every 30 s: inside the quarry (55.29…55.31) for i = 10…19 */
    const crossing = (vehicleId: string, from = T0, step = 30 * S): Fix[] =>
      Array.from({ length: 31 }, (_, i) =>
        fix(vehicleId, from + i * step, 25.3, 55.271 + i * 0.002, { speed: 25, ignition: true }),
      );
    const pick = (track: Fix[], from: number, to: number) => track.slice(from, to + 1);

    it("keeps the crossing's events, and judges the late fixes against the geofence as it was", async () => {
      const quarry = await oldFence("quarry", [55.29, 25.29, 55.31, 25.31]);
      const crossed = crossing("del-crossed");
      const tunnel = crossing("del-tunnel");
      // live: one truck crosses, with a coverage gap at i = 12…14; the other is in a tunnel at i = 6…25
      for (const part of [pick(crossed, 0, 11), pick(crossed, 15, 30)]) await w.send(part);
      for (const part of [pick(tunnel, 0, 5), pick(tunnel, 26, 30)]) await w.send(part);
      const before = await events("del-crossed");
      expect(before.map((e) => [e.kind, (e.at - T0) / S, e.name])).toEqual([
        ["enter", 300, "quarry"],
        ["exit", 600, "quarry"],
      ]);
      expect(await events("del-tunnel")).toEqual([]);

      await w.pool.query("DELETE FROM geofences WHERE id = $1", [quarry]);
      const deletedAt = Date.now();

      // the buffered fixes, uploaded after the deletion
      await w.send(pick(crossed, 12, 14));
      await w.send(pick(tunnel, 6, 25));
      expect(await events("del-crossed")).toEqual(before);
      expect((await events("del-tunnel")).map((e) => [e.kind, (e.at - T0) / S, e.name])).toEqual([
        ["enter", 300, "quarry"],
        ["exit", 600, "quarry"],
      ]);
      // a truck through the same place after the deletion crosses nothing
      await w.send(crossing("del-after", deletedAt + S, S));
      expect(await events("del-after")).toEqual([]);
      const retracted = (w.published as EventMessage[]).filter((m) => m.retracted);
      expect(retracted).toEqual([]);
    });

    it("judges a late upload against the polygon the geofence had then, not its edited one", async () => {
      // the yard was moved east (55.33…55.35) now; the truck drove through where it was before
      const yard = await oldFence("yard", [55.29, 25.39, 55.31, 25.41]);
      await editFence(yard, [55.33, 25.39, 55.35, 25.41]);
      const track = Array.from({ length: 46 }, (_, i) =>
        fix("edit-late", T0 + i * 30 * S, 25.4, 55.271 + i * 0.002, { speed: 25, ignition: true }),
      );
      await w.send(track.slice(40));
      await w.send(track.slice(0, 40));
      expect(await kinds("edit-late", T0)).toEqual([
        ["enter", 300],
        ["exit", 600],
      ]);
    });
  });

  describe("saving a geofence around parked vehicles", () => {
    it("creates no enter for a vehicle parked inside, in any arrival order; driving in after the save does", async () => {
      const before = Date.now() - 10 * MINUTE;
      const spot = { lat: 25.5, lng: 55.3 };
      const parkedBefore = parked("lot-parked", before, 19, spot.lat, spot.lng);
      const lateBefore = parked("lot-parked-late", before, 19, spot.lat, spot.lng);
      await w.send(parkedBefore);
      await w.send([fix("lot-driver", before, 25.5, 55.25, { speed: 0, ignition: true })]);

      const saved = await saveFence("new lot", [55.29, 25.49, 55.31, 25.51]);
      const after = saved + S;
      await w.send(parked("lot-parked", after, 3, spot.lat, spot.lng));
      // this one's fixes from before the save arrive after those from after it
      await w.send(parked("lot-parked-late", after, 3, spot.lat, spot.lng));
      await w.send(lateBefore);
      await w.send([
        fix("lot-driver", after, 25.5, 55.25, { speed: 30, ignition: true }),
        fix("lot-driver", after + 30 * S, 25.5, 55.3, { speed: 30, ignition: true }),
        fix("lot-driver", after + 60 * S, 25.5, 55.3, { speed: 0, ignition: true }),
      ]);

      expect(await events("lot-parked")).toEqual([]);
      expect(await events("lot-parked-late")).toEqual([]);
      expect(await kinds("lot-driver", after)).toEqual([["enter", 30]]);
    });

    it("creates no enter either for a vehicle whose fixes dated after the save were processed before it", async () => {
      // a device clock running a minute ahead: two fixes dated after the save reach the worker first
      const now = Date.now();
      await w.send(parked("lot-ahead", now - 60 * S, 1, 25.7, 55.3));
      await w.send(parked("lot-ahead", now + 30 * S, 2, 25.7, 55.3));
      const saved = await saveFence("ahead lot", [55.29, 25.69, 55.31, 25.71]);
      expect(saved).toBeLessThan(now + 30 * S);
      await w.send(parked("lot-ahead", now + 90 * S, 2, 25.7, 55.3));
      expect(await events("lot-ahead")).toEqual([]);
    });

    it("creates no exit for a vehicle an edit leaves outside, nor an enter for one it takes in", async () => {
      const t0 = Date.now() - 20 * MINUTE;
      const bay = await oldFence("bay", [55.29, 25.59, 55.31, 25.61]);
      // drives into the bay (a real enter at 90 s) and parks there
      const drive = (vehicleId: string) => [
        ...[55.26, 55.27, 55.28].map((lng, i) =>
          fix(vehicleId, t0 + i * 30 * S, 25.6, lng, { speed: 30, ignition: true }),
        ),
        ...parked(vehicleId, t0 + 90 * S, 30, 25.6, 55.3),
      ];
      const late = drive("bay-parked-late");
      await w.send(drive("bay-parked"));
      await w.send(late.slice(0, 20));
      await w.send(parked("bay-neighbour", t0, 30, 25.6, 55.32)); // parked outside, east of it

      const edited = await editFence(bay, [55.315, 25.59, 55.33, 25.61]); // moved east over the neighbour
      const after = edited + S;
      await w.send(parked("bay-parked", after, 3, 25.6, 55.3));
      await w.send(parked("bay-parked-late", after, 3, 25.6, 55.3));
      await w.send(late.slice(20)); // the rest of its fixes from before the edit, late
      await w.send(parked("bay-neighbour", after, 3, 25.6, 55.32));
      // then it drives into the bay where it is now: a real crossing
      await w.send([fix("bay-parked", after + 120 * S, 25.6, 55.32, { speed: 20, ignition: true })]);

      expect(await kinds("bay-parked", t0)).toEqual([
        ["enter", 90],
        ["enter", (after + 120 * S - t0) / S],
      ]);
      expect(await kinds("bay-parked-late", t0)).toEqual([["enter", 90]]);
      expect(await events("bay-neighbour")).toEqual([]);
    });
  });
});
