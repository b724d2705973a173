import { readFileSync } from "node:fs";
import { bearingDeg, distanceM, type LatLng } from "./geo.ts";

/**
 * A road graph built from GeoJSON LineStrings. Every vertex is a node, every pair of
 * consecutive vertices two directed edges (the roads are two-way). Roads meet where they share
 * an identical vertex, which is how a truck turns from one road onto another.
 */
export interface RoadNode extends LatLng {
  index: number;
  /** outgoing edges */
  out: RoadEdge[];
}

export interface RoadEdge {
  index: number;
  from: RoadNode;
  to: RoadNode;
  lengthM: number;
  bearing: number;
  road: string;
  ref: string;
  limitKmh: number;
  /** an urban road with traffic lights */
  signals: boolean;
}

export interface RoadNetwork {
  nodes: RoadNode[];
  edges: RoadEdge[];
  totalLengthM: number;
}

interface RoadFeature {
  type: "Feature";
  properties: { name: string; ref?: string; maxspeed: number; signals?: boolean };
  geometry: { type: "LineString"; coordinates: [number, number][] };
}

export interface RoadCollection {
  type: "FeatureCollection";
  features: RoadFeature[];
}

export const DUBAI_ROADS_URL = new URL("./dubai-roads.geojson", import.meta.url);

export function loadRoadNetwork(url: URL = DUBAI_ROADS_URL): RoadNetwork {
  return buildRoadNetwork(JSON.parse(readFileSync(url, "utf8")) as unknown);
}

/** Builds the graph; throws on anything but a FeatureCollection of usable LineStrings. */
export function buildRoadNetwork(geojson: unknown): RoadNetwork {
  const collection = asRoadCollection(geojson);
  const nodes: RoadNode[] = [];
  const edges: RoadEdge[] = [];
  const byKey = new Map<string, RoadNode>();
  const nodeAt = ([lng, lat]: [number, number]): RoadNode => {
    const key = `${lng},${lat}`;
    let node = byKey.get(key);
    if (!node) {
      node = { index: nodes.length, lat, lng, out: [] };
      nodes.push(node);
      byKey.set(key, node);
    }
    return node;
  };
  const link = (from: RoadNode, to: RoadNode, p: RoadFeature["properties"]) => {
    const edge: RoadEdge = {
      index: edges.length,
      from,
      to,
      lengthM: distanceM(from, to),
      bearing: bearingDeg(from, to),
      road: p.name,
      ref: p.ref ?? "",
      limitKmh: p.maxspeed,
      signals: p.signals ?? false,
    };
    edges.push(edge);
    from.out.push(edge);
  };
  for (const f of collection.features) {
    const coords = f.geometry.coordinates;
    for (let i = 1; i < coords.length; i++) {
      const a = nodeAt(coords[i - 1] as [number, number]);
      const b = nodeAt(coords[i] as [number, number]);
      if (a === b) continue;
      link(a, b, f.properties);
      link(b, a, f.properties);
    }
  }
  if (edges.length === 0) throw new Error("road network has no edges");
  return { nodes, edges, totalLengthM: edges.reduce((s, e) => s + e.lengthM, 0) / 2 };
}

/** Nodes reachable from the first one; equal to nodes.length when every road connects. */
export function reachableCount(network: RoadNetwork): number {
  const seen = new Set<RoadNode>();
  const stack = network.nodes.slice(0, 1);
  while (stack.length > 0) {
    const n = stack.pop() as RoadNode;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const e of n.out) stack.push(e.to);
  }
  return seen.size;
}

function asRoadCollection(value: unknown): RoadCollection {
  const fail = (why: string): never => {
    throw new Error(`road network GeoJSON: ${why}`);
  };
  const v = value as Partial<RoadCollection> | null;
  if (v?.type !== "FeatureCollection" || !Array.isArray(v.features)) fail("expected a FeatureCollection");
  for (const [i, f] of (v as RoadCollection).features.entries()) {
    if (f?.geometry?.type !== "LineString") fail(`feature ${i} is not a LineString`);
    if (typeof f.properties?.name !== "string") fail(`feature ${i} has no name`);
    if (!(f.properties.maxspeed > 0)) fail(`feature ${i} (${f.properties.name}) has no maxspeed`);
    const ok = f.geometry.coordinates.every(
      (c) =>
        Array.isArray(c) &&
        Math.abs(c[0]) <= 180 &&
        Math.abs(c[1]) <= 90 &&
        Number.isFinite(c[0]) &&
        Number.isFinite(c[1]),
    );
    if (!ok || f.geometry.coordinates.length < 2)
      fail(`feature ${i} (${f.properties.name}) has bad coordinates`);
  }
  return v as RoadCollection;
}
