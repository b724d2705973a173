// MQTT load: every VU is one truck with its own credentials, publishing native fixes on
// fleet/{id}/location. Needs k6 with xk6-mqtt (see load/README.md).
//
//   k6 run -e SCENARIO=constant -e VUS=500 load/k6-mqtt.js       (VUS / INTERVAL fixes per second)
//   k6 run -e SCENARIO=ramp load/k6-mqtt.js                      (0 → 4,000 trucks and back)
//   k6 run -e SCENARIO=spike load/k6-mqtt.js                     (200 → 4,000 in 20 s, and back)
//
// Environment: MQTT_URL (mqtt://127.0.0.1:1883), CREDENTIALS (../.data/simulator-credentials.json,
// from `npm run simulate -- --trucks 4000 --register-only`), INTERVAL (s between fixes, 5),
// SESSION (s a truck stays connected per iteration, 60), QOS (1), VUS and DURATION (constant).
import { sleep } from "k6";
import exec from "k6/execution";
import { Counter, Rate, Trend } from "k6/metrics";
import { clearInterval, setInterval, setTimeout } from "k6/timers";
import { Client } from "k6/x/mqtt";
import { Truck, vehicles } from "./k6-common.js";

const BROKER = __ENV.MQTT_URL || "mqtt://127.0.0.1:1883";
const SCENARIO = __ENV.SCENARIO || "constant";
const INTERVAL_S = Number(__ENV.INTERVAL || 5);
const SESSION_S = Number(__ENV.SESSION || 60);
const QOS = __ENV.QOS === "0" ? 0 : 1;

/** publish → PUBACK, ms (QoS 1: the platform acknowledges once the fix is durably queued) */
const pubackMs = new Trend("fix_puback_ms", true);
const fixFailed = new Rate("fix_failed");
const fixesSent = new Counter("fixes_sent");
const fixesSkipped = new Counter("fixes_skipped_offline");
const rejected = new Counter("fixes_rejected");
const connectFailed = new Rate("mqtt_connect_failed");
const reconnects = new Counter("mqtt_reconnects");

/** @type {Record<string, import("k6/options").Scenario>} */
const scenarios = {
  // a steady fleet: VUS trucks, one fix every INTERVAL s each
  constant: {
    executor: "constant-vus",
    vus: Number(__ENV.VUS || 500),
    duration: __ENV.DURATION || "5m",
    gracefulStop: `${SESSION_S + 10}s`,
  },
  // a fleet growing to 4,000 connected trucks (800 fixes/s at the default interval)
  ramp: {
    executor: "ramping-vus",
    startVUs: 0,
    stages: [
      { duration: "2m", target: 1000 },
      { duration: "3m", target: 4000 },
      { duration: "5m", target: 4000 },
      { duration: "2m", target: 0 },
    ],
    gracefulRampDown: `${SESSION_S + 10}s`,
  },
  // a connect storm: 3,800 trucks arrive within 20 s (a depot's shift start, a broker restart)
  spike: {
    executor: "ramping-vus",
    startVUs: 0,
    stages: [
      { duration: "30s", target: 200 },
      { duration: "1m", target: 200 },
      { duration: "20s", target: 4000 },
      { duration: "2m", target: 4000 },
      { duration: "20s", target: 200 },
      { duration: "2m", target: 200 },
      { duration: "10s", target: 0 },
    ],
    gracefulRampDown: `${SESSION_S + 10}s`,
  },
};
if (!scenarios[SCENARIO]) throw new Error(`SCENARIO must be one of ${Object.keys(scenarios).join(", ")}`);

/** @type {import("k6/options").Options} */
export const options = {
  scenarios: { [SCENARIO]: scenarios[SCENARIO] },
  thresholds: {
    fix_puback_ms: ["p(95)<250", "p(99)<1000"],
    fix_failed: ["rate<0.01"],
    fixes_rejected: ["count==0"],
    mqtt_connect_failed: ["rate<0.01"],
  },
};

/** one truck per VU, kept across iterations (module state is per VU) */
/** @type {Truck | undefined} */
let truck;
let seq = 0;

export default function () {
  const index = exec.vu.idInTest - 1;
  if (index >= vehicles.length) {
    // two VUs sharing a vehicle would share its session and its (vehicle, time) keys
    exec.test.abort(`VU ${index + 1} has no credentials: register at least as many trucks as VUs`);
  }
  const vehicle = vehicles[index];
  truck = truck || new Truck(index);
  const topic = `fleet/${vehicle.id}/location`;

  // No "error" listener: without one, a failing connect() or publish() throws, which is what
  // lets each call be counted as failed or not.
  const client = new Client({
    // a client id names its vehicle (core/client-id.ts): the broker refuses any other
    client_id: `${vehicle.id}:k6`,
    username: vehicle.username,
    password: vehicle.password,
  });
  /** @type {number | undefined} */
  let timer;

  client.on("connect", () => {
    // paho reconnects on its own and reports it as another "connect": keep a single timer
    if (timer !== undefined) return;
    try {
      client.subscribe(`fleet/${vehicle.id}/errors`, { qos: 1 });
    } catch (_e) {
      // the platform's reject notices are a bonus; fixes are what is measured
    }
    timer = setInterval(() => publishFix(client, topic, vehicle.id), INTERVAL_S * 1000);
    setTimeout(() => {
      if (timer !== undefined) clearInterval(timer);
      if (client.connected) client.end();
    }, SESSION_S * 1000);
  });
  client.on("reconnect", () => reconnects.add(1));
  client.on("message", () => rejected.add(1));

  try {
    // xk6-mqtt (paho) only ever sets clean session to true, so this session is not persistent;
    // the simulator (MQTT.js) is the tool for resend-after-reconnect behaviour
    client.connect(BROKER, { keepalive: 60, connect_timeout: 10000, clean_session: false });
    connectFailed.add(false);
  } catch (_e) {
    connectFailed.add(true);
    // back off before the next iteration retries, so a refused fleet does not become a storm
    sleep(1 + Math.random() * 4);
  }
}

/**
 * @param {Client} client
 * @param {string} topic
 * @param {string} vehicleId
 */
function publishFix(client, topic, vehicleId) {
  if (!truck) return;
  truck.advance(INTERVAL_S);
  if (!client.connected) {
    fixesSkipped.add(1);
    return;
  }
  const payload = JSON.stringify(
    truck.fix(Date.now(), `${vehicleId}-k6-${exec.vu.iterationInInstance}-${seq++}`),
  );
  const started = Date.now();
  try {
    client.publish(topic, payload, { qos: QOS });
    pubackMs.add(Date.now() - started);
    fixFailed.add(false);
    fixesSent.add(1);
  } catch (_e) {
    fixFailed.add(true);
  }
}
