// HTTP ingest load: POST /api/location with each vehicle's Basic credentials (the same bridge as
// MQTT; 202 once the fix is durably queued).
//
//   k6 run -e SCENARIO=constant load/k6-http.js     (1,000 requests/s, constant arrival rate)
//   k6 run -e SCENARIO=stress load/k6-http.js       (ramp to 4,000 VUs, one request per VU per s)
//   k6 run -e SCENARIO=spike load/k6-http.js        (100 → 4,000 VUs in 10 s, and back)
//
// Environment: API_URL (http://127.0.0.1:8080), CREDENTIALS (../.data/simulator-credentials.json),
// RATE and DURATION (constant). The API limits each vehicle to HTTP_INGEST_RATE_LIMIT requests a
// minute (600 by default) per client address: spread the load over enough vehicles (1,000 req/s
// needs 100 or more; the 4,000-VU runs want 4,000, one per VU) or 429s count as failures.
import { check, sleep } from "k6";
import encoding from "k6/encoding";
import exec from "k6/execution";
import http from "k6/http";
import { Truck, vehicles } from "./k6-common.js";

const API = (__ENV.API_URL || "http://127.0.0.1:8080").replace(/\/+$/, "");
const SCENARIO = __ENV.SCENARIO || "constant";

/** @type {Record<string, import("k6/options").Scenario>} */
const scenarios = {
  constant: {
    executor: "constant-arrival-rate",
    rate: Number(__ENV.RATE || 1000),
    timeUnit: "1s",
    duration: __ENV.DURATION || "5m",
    preAllocatedVUs: 200,
    maxVUs: 2000,
  },
  stress: {
    executor: "ramping-vus",
    startVUs: 0,
    stages: [
      { duration: "2m", target: 1000 },
      { duration: "3m", target: 4000 },
      { duration: "5m", target: 4000 },
      { duration: "2m", target: 0 },
    ],
    gracefulRampDown: "10s",
  },
  spike: {
    executor: "ramping-vus",
    startVUs: 0,
    stages: [
      { duration: "30s", target: 100 },
      { duration: "1m", target: 100 },
      { duration: "10s", target: 4000 },
      { duration: "2m", target: 4000 },
      { duration: "10s", target: 100 },
      { duration: "2m", target: 100 },
      { duration: "10s", target: 0 },
    ],
    gracefulRampDown: "10s",
  },
};
if (!scenarios[SCENARIO]) throw new Error(`SCENARIO must be one of ${Object.keys(scenarios).join(", ")}`);

/** @type {import("k6/options").Options} */
export const options = {
  scenarios: { [SCENARIO]: scenarios[SCENARIO] },
  thresholds: {
    http_req_failed: ["rate<0.01"],
    http_req_duration: ["p(95)<200", "p(99)<500"],
    checks: ["rate>0.99"],
    // constant-arrival-rate: iterations k6 could not start in time mean the target rate was missed
    dropped_iterations: ["count<100"],
  },
};

/** Basic credentials per vehicle, built once per VU */
/** @type {Map<string, string>} */
const authHeaders = new Map();
/** @type {Map<string, Truck>} */
const trucks = new Map();
let last = 0;

export default function () {
  // arrival-rate iterations are spread over all vehicles; VU-based scenarios give each VU its own
  const n =
    SCENARIO === "constant"
      ? exec.scenario.iterationInTest % vehicles.length
      : (exec.vu.idInTest - 1) % vehicles.length;
  const vehicle = vehicles[n];
  let auth = authHeaders.get(vehicle.id);
  if (!auth) {
    auth = `Basic ${encoding.b64encode(`${vehicle.username}:${vehicle.password}`)}`;
    authHeaders.set(vehicle.id, auth);
  }
  let truck = trucks.get(vehicle.id);
  if (!truck) {
    truck = new Truck(n);
    trucks.set(vehicle.id, truck);
  }
  truck.advance(1);
  // strictly increasing per VU, so one vehicle's fixes from this VU never share a timestamp
  const now = Math.max(Date.now(), last + 1);
  last = now;
  const res = http.post(
    `${API}/api/location`,
    JSON.stringify(truck.fix(now, `k6-http-${exec.vu.idInTest}-${now}`)),
    {
      headers: { authorization: auth, "content-type": "application/json" },
      tags: { name: "POST /api/location" },
    },
  );
  check(res, {
    "202 accepted": (r) => r.status === 202,
    "fix queued, not rejected": (r) => r.status === 202 && r.json("accepted") === 1,
  });
  if (SCENARIO !== "constant") sleep(1);
}
