import { describe, expect, it } from "vitest";
import { distanceM, distanceToSegmentM, turnDeg } from "../../../simulator/geo.ts";
import { createRandom } from "../../../simulator/random.ts";
import { buildRoadNetwork, type RoadNetwork } from "../../../simulator/road-network.ts";
import { Truck, type TruckReading } from "../../../simulator/truck.ts";

// An L-shaped road in Dubai: 3 km north-east along a straight, then 2 km south-east; dead ends at
// both extremities, so the truck must turn round there.
const POLYLINE: [number, number][] = [
  [55.2, 25.1],
  [55.22, 25.12],
  [55.235, 25.105],
];
const network: RoadNetwork = buildRoadNetwork({
  type: "FeatureCollection",
  features: [
    {
      type: "Feature",
      properties: { name: "Test Road", maxspeed: 100 },
      geometry: { type: "LineString", coordinates: POLYLINE },
    },
  ],
});
const points = POLYLINE.map(([lng, lat]) => ({ lat, lng }));
const segments = points.slice(1).map((b, i) => ({ a: points[i] as (typeof points)[0], b }));

function drive(
  seed: string,
  seconds: number,
  stepS: number,
  gpsNoiseM = 0,
): { readings: TruckReading[]; exact: { lat: number; lng: number }[] } {
  const truck = new Truck({
    network,
    random: createRandom(seed),
    gpsNoiseM,
    startEdge: network.edges[0],
    parkedAtStart: 0,
  });
  const readings: TruckReading[] = [truck.read()];
  const exact = [truck.position()];
  for (let t = 0; t < seconds; t += stepS) {
    truck.advance(stepS);
    readings.push(truck.read());
    exact.push(truck.position());
  }
  return { readings, exact };
}

const offRoadM = (p: { lat: number; lng: number }) =>
  Math.min(...segments.map(({ a, b }) => distanceToSegmentM(p, a, b)));

describe("simulated truck on a known polyline", () => {
  const { readings, exact } = drive("route", 3 * 3600, 5);

  it("stays on the road: exact positions on the polyline, GPS-noisy ones within metres of it", () => {
    for (const p of exact) expect(offRoadM(p)).toBeLessThan(0.5);
    const noisy = drive("route", 1800, 5, 3).readings;
    for (const r of noisy) expect(offRoadM(r)).toBeLessThan(20);
  });

  it("reports the heading of the segment it drives, in either direction", () => {
    const bearings = [network.edges[0], network.edges[1], network.edges[2], network.edges[3]].map(
      (e) => e?.bearing as number,
    );
    let moving = 0;
    for (const r of readings) {
      expect(r.heading).toBeGreaterThanOrEqual(0);
      expect(r.heading).toBeLessThan(360);
      if (r.speed > 5) {
        moving++;
        expect(Math.min(...bearings.map((b) => turnDeg(b, r.heading)))).toBeLessThan(0.2);
      }
    }
    expect(moving).toBeGreaterThan(200);
    // north-east on the first segment: 35-45 degrees
    expect(readings[1]?.heading).toBeGreaterThan(30);
    expect(readings[1]?.heading).toBeLessThan(50);
  });

  it("counts the odometer from the geodesic distance actually driven", () => {
    for (let i = 1; i < readings.length; i++) {
      const before = readings[i - 1] as TruckReading;
      const after = readings[i] as TruckReading;
      expect(after.odometer).toBeGreaterThanOrEqual(before.odometer);
      // 5 s at no more than 100 km/h: at most ~140 m, plus rounding
      expect((after.odometer - before.odometer) * 1000).toBeLessThan(140);
    }
    // in 5 s a truck moves less than a segment, so straight-line steps (corners aside) add up to the odometer
    let path = 0;
    for (let i = 1; i < exact.length; i++) path += distanceM(exact[i - 1] as never, exact[i] as never);
    const odo = ((readings.at(-1) as TruckReading).odometer - (readings[0] as TruckReading).odometer) * 1000;
    expect(odo).toBeGreaterThan(10_000);
    expect(Math.abs(odo - path) / odo).toBeLessThan(0.01);
  });

  it("drives at truck speeds, stops at the dead ends with the ignition off, and leaves again", () => {
    const speeds = readings.map((r) => r.speed);
    expect(Math.max(...speeds)).toBeLessThanOrEqual(101);
    expect(Math.max(...speeds)).toBeGreaterThan(60);
    const parked = readings.filter((r) => r.state === "parked");
    expect(parked.length).toBeGreaterThan(0);
    for (const r of parked) {
      expect(r.ignition).toBe(false);
      expect(r.speed).toBe(0);
    }
    for (const r of readings.filter((r) => r.state === "driving")) expect(r.ignition).toBe(true);
    // a truck parks at a node: a dead end (delivery, then a U-turn) or a roadside stop at a vertex
    for (const [i, r] of readings.entries()) {
      if (r.state === "parked")
        expect(Math.min(...points.map((p) => distanceM(p, exact[i] as never)))).toBeLessThan(1);
    }
    const ends = [points[0], points[2]] as { lat: number; lng: number }[];
    const atEnds = readings.filter(
      (r, i) => r.state === "parked" && Math.min(...ends.map((e) => distanceM(e, exact[i] as never))) < 1,
    );
    expect(atEnds.length).toBeGreaterThan(0);
    const lastParked = readings.findLastIndex((r) => r.state === "parked");
    const firstParked = readings.findIndex((r) => r.state === "parked");
    expect(readings.slice(firstParked).some((r) => r.state === "driving")).toBe(true);
    expect(lastParked).toBeGreaterThan(firstParked);
  });

  it("replays the same trip with the same seed, and another with another seed", () => {
    const again = drive("route", 3 * 3600, 5).readings;
    expect(again).toEqual(readings);
    const other = drive("other", 3 * 3600, 5).readings;
    expect(other).not.toEqual(readings);
  });
});
