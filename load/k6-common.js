// Shared by load/k6-mqtt.js and load/k6-http.js: the trucks' credentials and a simple mover that
// produces valid native fixes (README.md, "Devices": the native fix) along real Dubai corridors.
import { SharedArray } from "k6/data";

/**
 * @typedef {{ id: string, username: string, password: string }} Vehicle
 * @typedef {{ lat: number, lng: number }} Point
 */

/**
 * The simulator's credentials file (`npm run simulate -- --trucks N --register-only`), loaded
 * once and shared read-only by every VU. open() resolves a relative path from this file.
 * @type {Vehicle[]}
 */
export const vehicles = new SharedArray("vehicles", () => {
  const path = __ENV.CREDENTIALS || "../.data/simulator-credentials.json";
  /** @type {{ vehicles: Vehicle[] }} */
  const file = JSON.parse(open(path));
  if (!file.vehicles || file.vehicles.length === 0) throw new Error(`${path}: no vehicles`);
  return file.vehicles;
});

/** Corridor end points [lat, lng]: Sheikh Zayed Rd, Al Khail Rd, Emirates Rd, Jumeirah Beach Rd. */
const CORRIDORS = [
  [
    [25.234, 55.296],
    [24.985, 55.06],
  ],
  [
    [25.215, 55.34],
    [25.0, 55.17],
  ],
  [
    [25.27, 55.47],
    [24.97, 55.13],
  ],
  [
    [25.235, 55.264],
    [25.135, 55.188],
  ],
];
const RAD = Math.PI / 180;
const EARTH_M = 6371008.8;

/** @param {Point} a @param {Point} b */
function distanceM(a, b) {
  const dLat = (b.lat - a.lat) * RAD;
  const dLng = (b.lng - a.lng) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** @param {Point} a @param {Point} b */
function bearingDeg(a, b) {
  const y = Math.sin((b.lng - a.lng) * RAD) * Math.cos(b.lat * RAD);
  const x =
    Math.cos(a.lat * RAD) * Math.sin(b.lat * RAD) -
    Math.sin(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.cos((b.lng - a.lng) * RAD);
  return (Math.atan2(y, x) / RAD + 360) % 360;
}

/**
 * A truck shuttling along one corridor at 60-90 km/h; the odometer grows with the geodesic
 * distance driven. Deterministic per index, so a VU resumes the same truck across iterations.
 */
export class Truck {
  /** @param {number} index */
  constructor(index) {
    const [from, to] = CORRIDORS[index % CORRIDORS.length];
    /** @type {Point} */
    this.a = { lat: from[0], lng: from[1] };
    /** @type {Point} */
    this.b = { lat: to[0], lng: to[1] };
    this.length = distanceM(this.a, this.b);
    this.t = ((index * 0.618034) % 1) * 0.98 + 0.01;
    this.forward = index % 2 === 0;
    this.speedKmh = 60 + ((index * 7) % 31);
    this.odometerKm = 20000 + ((index * 977) % 300000);
  }

  /** Moves the truck by `seconds` of driving. @param {number} seconds */
  advance(seconds) {
    const step = (this.speedKmh / 3.6) * seconds;
    this.odometerKm += step / 1000;
    let t = this.t + (this.forward ? 1 : -1) * (step / this.length);
    if (t > 1 || t < 0) {
      this.forward = !this.forward;
      t = t > 1 ? 2 - t : -t;
    }
    this.t = t;
  }

  /**
   * A native fix at `now` (epoch ms).
   * @param {number} now
   * @param {string} messageId
   */
  fix(now, messageId) {
    const p = {
      lat: this.a.lat + (this.b.lat - this.a.lat) * this.t,
      lng: this.a.lng + (this.b.lng - this.a.lng) * this.t,
    };
    const heading = this.forward ? bearingDeg(this.a, this.b) : bearingDeg(this.b, this.a);
    return {
      lat: Math.round(p.lat * 1e6) / 1e6,
      lng: Math.round(p.lng * 1e6) / 1e6,
      recordedAt: now,
      speed: this.speedKmh,
      heading: Math.round(heading * 10) / 10,
      altitude: 15,
      accuracy: 5,
      ignition: true,
      odometer: Math.round(this.odometerKm * 1000) / 1000,
      messageId,
    };
  }
}
