import { describe, expect, it } from "vitest";
import { distanceM } from "../../../simulator/geo.ts";
import { buildRoadNetwork, loadRoadNetwork, reachableCount } from "../../../simulator/road-network.ts";

describe("the Dubai road network", () => {
  const net = loadRoadNetwork();

  it("connects every road to every other through shared junction vertices", () => {
    expect(reachableCount(net)).toBe(net.nodes.length);
    const roads = new Set(net.edges.map((e) => e.road));
    for (const name of [
      "Sheikh Zayed Road",
      "Al Khail Road",
      "Emirates Road",
      "Jumeirah Beach Road",
      "Al Wasl Road",
    ]) {
      expect(roads.has(name)).toBe(true);
    }
    const junctions = net.nodes.filter((n) => new Set(n.out.map((e) => e.road)).size > 1);
    expect(junctions.length).toBeGreaterThanOrEqual(10);
  });

  it("lies in Dubai, with plausible segment lengths and limits", () => {
    for (const n of net.nodes) {
      expect(n.lat).toBeGreaterThan(24.9);
      expect(n.lat).toBeLessThan(25.3);
      expect(n.lng).toBeGreaterThan(55.0);
      expect(n.lng).toBeLessThan(55.5);
    }
    for (const e of net.edges) {
      expect(e.lengthM).toBeGreaterThan(100);
      expect(e.lengthM).toBeLessThan(10_000);
      expect([60, 80, 100, 120]).toContain(e.limitKmh);
    }
    // Sheikh Zayed Road, Trade Centre to Jebel Ali: about 40 km
    const szr =
      net.edges.filter((e) => e.road === "Sheikh Zayed Road").reduce((s, e) => s + e.lengthM, 0) / 2;
    expect(szr / 1000).toBeGreaterThan(35);
    expect(szr / 1000).toBeLessThan(50);
  });

  it("makes two directed edges per segment with opposite bearings", () => {
    const e = net.edges[0];
    const back = e?.to.out.find((x) => x.to === e.from);
    expect(back?.lengthM).toBeCloseTo(e?.lengthM as number, 6);
    expect(Math.abs(((back?.bearing as number) - (e?.bearing as number) + 360) % 360)).toBeCloseTo(180, 0);
    expect(distanceM(e?.from as never, e?.to as never)).toBeCloseTo(e?.lengthM as number, 6);
  });

  it("refuses GeoJSON it cannot drive on", () => {
    expect(() => buildRoadNetwork({ type: "Feature" })).toThrow(/FeatureCollection/);
    expect(() =>
      buildRoadNetwork({
        type: "FeatureCollection",
        features: [
          {
            type: "Feature",
            properties: { name: "x", maxspeed: 50 },
            geometry: { type: "Point", coordinates: [55, 25] },
          },
        ],
      }),
    ).toThrow(/LineString/);
  });
});
