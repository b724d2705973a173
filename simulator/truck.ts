import { interpolate, type LatLng, offsetM, terrainAltitudeM, turnDeg } from "./geo.ts";
import type { Random } from "./random.ts";
import type { RoadEdge, RoadNetwork } from "./road-network.ts";

/** What the truck's GPS unit reads at one instant. */
export interface TruckReading {
  lat: number;
  lng: number;
  /** km/h */
  speed: number;
  /** degrees clockwise from north */
  heading: number;
  altitude: number;
  accuracy: number;
  ignition: boolean;
  /** km, from the geodesic length of the road driven */
  odometer: number;
  state: TruckState;
  road: string;
}

/**
 * driving: on the road, accelerating, cruising or braking (also for a planned stop);
 * stopped: standing with the engine on (traffic light, engine warm-up before leaving);
 * parked: ignition off (a delivery, a rest).
 */
export type TruckState = "driving" | "stopped" | "parked";

export interface TruckOptions {
  network: RoadNetwork;
  random: Random;
  /** standard deviation of the GPS position error in metres; 0 for exact positions */
  gpsNoiseM?: number;
  /** start on this edge (default: a random one, weighted by length) */
  startEdge?: RoadEdge;
  /** chance of starting parked (default 0.15) */
  parkedAtStart?: number;
}

interface Phase {
  ignition: boolean;
  seconds: number;
}

// Heavy-vehicle figures: a loaded truck accelerates at ~0.5-1 m/s² and brakes comfortably at
// ~1.5-2 m/s²; UAE trucks are limited to 80-100 km/h whatever the road allows.
const LIGHT_STOP_CHANCE = 0.25;
const ROADSIDE_STOP_CHANCE = 0.015;
const STEP_S = 1;

/**
 * One virtual truck: a state machine moving along the road graph. `advance(dt)` integrates the
 * motion in steps of at most one second; `read()` returns what its GPS would report.
 * Every random choice comes from the truck's own seeded stream, so a seed replays the trip.
 */
export class Truck {
  private readonly rnd: Random;
  private readonly noiseM: number;
  private readonly maxSpeed: number;
  private readonly accel: number;
  private readonly decel: number;
  private readonly driverFactor: number;
  private edge: RoadEdge;
  private next: RoadEdge;
  private stopAtEnd: Phase[] | undefined;
  private offsetM: number;
  private speed = 0;
  private traffic = 1;
  private state: TruckState = "driving";
  private ignition = true;
  private phases: Phase[] = [];
  private phaseLeft = 0;
  private heading: number;
  private odometerM: number;

  constructor(opts: TruckOptions) {
    this.rnd = opts.random;
    const r = this.rnd;
    this.noiseM = opts.gpsNoiseM ?? 2.5;
    this.maxSpeed = r.range(78, 95) / 3.6;
    this.accel = r.range(0.5, 0.9);
    this.decel = r.range(1.4, 2);
    this.driverFactor = r.range(0.88, 1);
    this.odometerM = r.range(15_000, 450_000) * 1000;
    const edges = opts.network.edges;
    this.edge = opts.startEdge ?? (edges[r.weightedIndex(edges.map((e) => e.lengthM))] as RoadEdge);
    this.offsetM = r.range(0, this.edge.lengthM);
    this.heading = this.edge.bearing;
    [this.next, this.stopAtEnd] = this.plan(this.edge);
    if (r.chance(opts.parkedAtStart ?? 0.15)) {
      this.enterStop([
        { ignition: false, seconds: r.range(10, 600) },
        { ignition: true, seconds: r.range(10, 40) },
      ]);
    } else {
      this.speed = this.cruiseSpeed();
    }
  }

  advance(dtS: number): void {
    let left = dtS;
    while (left > 1e-9) {
      const h = Math.min(STEP_S, left);
      this.step(h);
      left -= h;
    }
  }

  read(): TruckReading {
    const r = this.rnd;
    const exact = interpolate(this.edge.from, this.edge.to, this.offsetM / this.edge.lengthM);
    const accuracy = Math.round(r.range(3, 9) * 10) / 10;
    const p = this.noiseM > 0 ? offsetM(exact, r.normal(0, this.noiseM), r.normal(0, this.noiseM)) : exact;
    const moving = this.speed > 0.3;
    return {
      lat: round(p.lat, 6),
      lng: round(p.lng, 6),
      speed: moving ? round(Math.max(0, this.speed * 3.6 + r.normal(0, 0.4)), 1) : 0,
      heading: round(this.heading, 1) % 360,
      altitude: round(terrainAltitudeM(exact) + r.normal(0, 1.5), 1),
      accuracy,
      ignition: this.ignition,
      odometer: round(this.odometerM / 1000, 3),
      state: this.state,
      road: this.edge.road,
    };
  }

  /** The exact (noise-free) position, for tests and diagnostics. */
  position(): LatLng {
    return interpolate(this.edge.from, this.edge.to, this.offsetM / this.edge.lengthM);
  }

  private step(h: number): void {
    if (this.state !== "driving") {
      this.phaseLeft -= h;
      while (this.phaseLeft <= 0) {
        const phase = this.phases.shift();
        if (!phase) {
          this.resume();
          return;
        }
        this.ignition = phase.ignition;
        this.state = phase.ignition ? "stopped" : "parked";
        this.phaseLeft += phase.seconds;
      }
      return;
    }
    // traffic: a slowly wandering factor on the cruise speed (mean-reverting random walk)
    this.traffic += (1 - this.traffic) * 0.02 * h + this.rnd.normal(0, 0.015) * Math.sqrt(h);
    this.traffic = Math.min(1.05, Math.max(0.55, this.traffic));

    const remaining = this.edge.lengthM - this.offsetM;
    const vEnd = this.endSpeed();
    const vBrake = Math.sqrt(vEnd * vEnd + 2 * this.decel * Math.max(0, remaining - 3));
    // creep the last metres towards a stop line instead of stalling short of it
    const desired = Math.max(Math.min(this.cruiseSpeed(), vBrake), remaining > 0.5 ? 1.5 : 0);
    const v0 = this.speed;
    const v1 =
      v0 < desired ? Math.min(desired, v0 + this.accel * h) : Math.max(desired, v0 - 2 * this.decel * h);
    this.speed = v1;
    let d = ((v0 + v1) / 2) * h;
    this.heading = this.edge.bearing;

    while (d > 0) {
      const left = this.edge.lengthM - this.offsetM;
      if (d < left) {
        this.offsetM += d;
        this.odometerM += d;
        return;
      }
      this.odometerM += left;
      d -= left;
      if (this.stopAtEnd) {
        // a planned stop at this node: stand at it, then carry on along the planned edge
        this.offsetM = this.edge.lengthM;
        const phases = this.stopAtEnd;
        this.stopAtEnd = undefined;
        this.enterStop(phases);
        return;
      }
      this.enterEdge(this.next);
    }
  }

  /** Stands still through `phases`, then `resume`s. */
  private enterStop(phases: Phase[]): void {
    this.speed = 0;
    this.phases = [...phases];
    this.phaseLeft = 0;
    this.state = "stopped";
    this.step(0);
  }

  /** After a stop: drive on, onto the planned edge when the truck stood at the end of this one. */
  private resume(): void {
    this.state = "driving";
    this.ignition = true;
    if (this.offsetM >= this.edge.lengthM) this.enterEdge(this.next);
  }

  private enterEdge(edge: RoadEdge): void {
    this.edge = edge;
    this.offsetM = 0;
    this.heading = edge.bearing;
    [this.next, this.stopAtEnd] = this.plan(edge);
  }

  /** Chooses the edge after `edge` and whether to stop at the node between them. */
  private plan(edge: RoadEdge): [RoadEdge, Phase[] | undefined] {
    const r = this.rnd;
    const onward = edge.to.out.filter((e) => e.to !== edge.from);
    if (onward.length === 0) {
      // a dead end (port, depot, border): deliver, then turn round
      const uTurn = edge.to.out[0] ?? edge;
      return [uTurn, deliveryPhases(r, 180, 900)];
    }
    const weights = onward.map((e) => (e.road === edge.road ? 4 : 1));
    const next = onward[r.weightedIndex(weights)] as RoadEdge;
    if ((edge.signals || next.signals) && r.chance(LIGHT_STOP_CHANCE)) {
      return [next, [{ ignition: true, seconds: r.range(15, 75) }]];
    }
    if (r.chance(ROADSIDE_STOP_CHANCE)) return [next, deliveryPhases(r, 120, 600)];
    return [next, undefined];
  }

  private cruiseSpeed(): number {
    return Math.min(this.edge.limitKmh / 3.6, this.maxSpeed) * this.driverFactor * this.traffic;
  }

  /** Speed to reach at the end of this edge: 0 for a stop, else limited by the turn and next road. */
  private endSpeed(): number {
    if (this.stopAtEnd) return 0;
    const turn = turnDeg(this.edge.bearing, this.next.bearing);
    // ~90 km/h for a gentle bend, ~25 km/h for a right-angle junction, crawling for a U-turn
    const cornering = turn < 20 ? Infinity : Math.max(3, 25 / 3.6 + (90 - turn) * 0.12);
    return Math.min(this.next.limitKmh / 3.6, this.maxSpeed, cornering);
  }
}

function deliveryPhases(r: Random, minS: number, maxS: number): Phase[] {
  return [
    { ignition: true, seconds: r.range(5, 15) },
    { ignition: false, seconds: r.range(minS, maxS) },
    { ignition: true, seconds: r.range(10, 40) },
  ];
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
