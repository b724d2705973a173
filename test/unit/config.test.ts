import { describe, expect, it } from "vitest";
import { databaseVars, localStateVars, loggingVars, redisVars } from "../../core/config/common.ts";
import { demoVars } from "../../core/config/example-secrets.ts";
import { externalBrokerApiVars } from "../../core/config/external-broker-api.ts";
import {
  derivationVars,
  fleetDayVars,
  partitionVars,
  rejectRetentionVars,
  retentionVars,
} from "../../core/config/history.ts";
import { accessVars, apiLimitVars, healthVars, httpVars, uiVars } from "../../core/config/http.ts";
import { ingestVars } from "../../core/config/ingest.ts";
import {
  externalBrokerVars,
  mqttBrokerVars,
  mqttLimitVars,
  mqttListenerVars,
} from "../../core/config/mqtt.ts";
import { queueVars, workerVars } from "../../core/config/queueing.ts";
import { simulatorVars } from "../../core/config/simulator.ts";
import { configPieces } from "../../core/config/table.ts";
import {
  apiConfigSchema,
  bridgeConfigSchema,
  brokerConfigSchema,
  ConfigError,
  configSchema,
  loadConfig,
  processConfigSchemas,
  simulatorConfigSchema,
  startConfigSchema,
  workerConfigSchema,
} from "../../core/config.ts";

const base = { DATABASE_URL: "postgres://u@127.0.0.1:5432/db", REDIS_URL: "redis://127.0.0.1:6379" };
/** what every process starts with (the bridge needs its external broker) */
const startable = { ...base, EXTERNAL_MQTT_URL: "mqtt://127.0.0.1:1883" };
const keys = (schema: { shape: object }) => Object.keys(schema.shape).sort();
const INVALID = "not-a-value!";

describe("configuration", () => {
  it("applies the documented defaults", () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({ MQTT_PORT: 1883, BATCH_SIZE: 500, BATCH_MS: 20, FLEET_TZ: "Asia/Dubai" });
    expect(c.HOLD_CAP_MS).toBeLessThan(c.KEEPALIVE_S * 1500);
  });

  it.each([
    [{ BATCH_SIZE: "lots" }, "BATCH_SIZE"],
    [{ FLEET_TZ: "Asia/Dubia" }, "FLEET_TZ"],
    [{ HOLD_CAP_MS: "90000" }, "HOLD_CAP_MS"],
    [{ MQTT_TLS_PORT: "8883" }, "MQTT_TLS_PORT"],
    [{ DATABASE_URL: undefined }, "DATABASE_URL"],
    [
      { EXTERNAL_BROKER_API_URL: "http://emqx:18083", EXTERNAL_BROKER_API_KEY: "k" },
      "EXTERNAL_BROKER_API_URL",
    ],
  ])("refuses %j naming %s", (env, name) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...env })).toThrow(name);
  });
});

describe("configuration per process", () => {
  it("the worker ignores an invalid HTTP_PORT, the API refuses it", () => {
    expect(loadConfig(workerConfigSchema, { ...base, HTTP_PORT: "http" })).not.toHaveProperty("HTTP_PORT");
    expect(() => loadConfig(apiConfigSchema, { ...base, HTTP_PORT: "http" })).toThrow(/HTTP_PORT/);
  });

  // every variable set to a value most of them refuse: each process refuses exactly its own
  it.each(Object.entries(processConfigSchemas))("%s parses only its own variables", (_, schema) => {
    const own = new Set(Object.keys(schema.shape));
    for (const name of Object.keys(configSchema.shape)) {
      const env = { ...startable, [name]: INVALID };
      if (!own.has(name)) {
        const config = loadConfig(schema, env);
        expect(
          Object.keys(config).filter((k) => !own.has(k)),
          name,
        ).toEqual([]);
      } else if (!configSchema.shape[name as keyof typeof configSchema.shape].safeParse(INVALID).success) {
        expect(() => loadConfig(schema, env), name).toThrow(new RegExp(`^  ${name}: `, "m"));
      }
    }
  });

  it("every variable belongs to at least one process, npm start checks broker, worker and API", () => {
    const used = new Set(Object.values(processConfigSchemas).flatMap((s) => Object.keys(s.shape)));
    expect([...used].sort()).toEqual(keys(configSchema));
    const started = new Set([brokerConfigSchema, workerConfigSchema, apiConfigSchema].flatMap(keys));
    expect(keys(startConfigSchema)).toEqual([...started].sort());
  });

  it("README's pieces hold every variable once", () => {
    const names = configPieces.flatMap((p) => Object.keys(p.shape));
    expect(names.sort()).toEqual(keys(configSchema));
  });

  it("derives HOLD_CAP_MS where the bridge runs, and checks it against KEEPALIVE_S there only", () => {
    for (const schema of [brokerConfigSchema, bridgeConfigSchema, apiConfigSchema]) {
      expect(loadConfig(schema, { ...startable, KEEPALIVE_S: "10" }).HOLD_CAP_MS).toBe(12_000);
      expect(() => loadConfig(schema, { ...startable, HOLD_CAP_MS: "90000" })).toThrow(/HOLD_CAP_MS/);
    }
    expect(loadConfig(workerConfigSchema, { ...base, HOLD_CAP_MS: "90000" })).not.toHaveProperty(
      "HOLD_CAP_MS",
    );
  });

  it("checks the MQTT listeners' and limits' relations in the broker only", () => {
    for (const env of [
      { MQTT_TLS_PORT: "8883" },
      { MQTT_TLS_CERT: "cert.pem" },
      { MQTT_MAX_PACKET_BYTES: "1000" },
    ]) {
      expect(() => loadConfig(brokerConfigSchema, { ...base, ...env }), JSON.stringify(env)).toThrow(
        ConfigError,
      );
      expect(() => loadConfig(apiConfigSchema, { ...base, ...env }), JSON.stringify(env)).not.toThrow();
    }
    expect(() => loadConfig(brokerConfigSchema, { ...base, MQTT_MAX_PACKET_BYTES: "1000" })).toThrow(
      "MQTT_MAX_PACKET_BYTES: must be above MAX_PAYLOAD_BYTES",
    );
  });

  it("the bridge requires EXTERNAL_MQTT_URL, which the others ignore", () => {
    expect(() => loadConfig(bridgeConfigSchema, base)).toThrow(
      "EXTERNAL_MQTT_URL: required by bridge/main.ts",
    );
    expect(() => loadConfig(bridgeConfigSchema, { ...base, EXTERNAL_MQTT_URL: "nope" })).toThrow(
      "EXTERNAL_MQTT_URL: Invalid URL",
    );
    expect(loadConfig(bridgeConfigSchema, startable).EXTERNAL_MQTT_URL).toBe(startable.EXTERNAL_MQTT_URL);
    expect(loadConfig(configSchema, base).EXTERNAL_MQTT_URL).toBeUndefined();
  });

  it("the simulator needs no database, and takes the platform's ports and token", () => {
    const c = loadConfig(simulatorConfigSchema, { MQTT_PORT: "18830", ADMIN_TOKEN: "t0k3n-t0k3n-t0k3n" });
    expect(c).toEqual({
      MQTT_PORT: 18830,
      HTTP_PORT: 8080,
      ADMIN_TOKEN: "t0k3n-t0k3n-t0k3n",
      DATA_DIR: ".data",
      LOCAL_DEMO: false,
    });
    expect(loadConfig(simulatorConfigSchema, base)).toMatchObject(base);
  });
});

describe("TRUST_PROXY", () => {
  const parse = (v: string) => accessVars.shape.TRUST_PROXY.safeParse(v);
  it("takes false, a hop count (true = one hop), or proxy addresses/CIDRs, and refuses anything else", () => {
    expect(parse("false").data).toBe(false);
    expect(parse("0").data).toBe(false);
    expect(parse("true").data).toBe(1);
    expect(parse("2").data).toBe(2);
    expect(parse("10.0.0.0/8, 127.0.0.1,::1, fd00::/8").data).toEqual([
      "10.0.0.0/8",
      "127.0.0.1",
      "::1",
      "fd00::/8",
    ]);
    expect(parse("loopback,uniquelocal").data).toEqual(["loopback", "uniquelocal"]);
    for (const bad of ["yes", "10.0.0.0/33", "::1/129", "proxy.example.com", "1.2.3.4/8/1", ",", "-1"])
      expect(parse(bad).success, bad).toBe(false);
  });
});

describe("configuration pieces keep their defaults", () => {
  it.each([
    ["databaseVars", databaseVars, { DATABASE_URL: base.DATABASE_URL }, {}],
    ["redisVars", redisVars, { REDIS_URL: base.REDIS_URL }, {}],
    ["loggingVars", loggingVars, {}, { LOG_LEVEL: "info" }],
    ["localStateVars", localStateVars, {}, { DATA_DIR: ".data" }],
    ["queueVars", queueVars, {}, { QUEUE_PARTITIONS: 4 }],
    [
      "workerVars",
      workerVars,
      {},
      { WORKER_CONCURRENCY: 1, WORKER_COALESCE_MAX_FIXES: 5000, WORKER_LINGER_MS: 100 },
    ],
    [
      "ingestVars",
      ingestVars,
      {},
      {
        BATCH_SIZE: 500,
        BATCH_MS: 20,
        KEEPALIVE_S: 60,
        MAX_PAYLOAD_BYTES: 65_536,
        MAX_CLOCK_SKEW: 300,
        MAX_FIXES_PER_UPLOAD: 1000,
      },
    ],
    ["partitionVars", partitionVars, {}, { PARTITION_INTERVAL: "day", PARTITIONS_AHEAD: 7 }],
    ["retentionVars", retentionVars, {}, { RETENTION_DAYS: 90 }],
    ["rejectRetentionVars", rejectRetentionVars, {}, { REJECTED_RETENTION_DAYS: 30 }],
    ["fleetDayVars", fleetDayVars, {}, { FLEET_TZ: "Asia/Dubai" }],
    [
      "derivationVars",
      derivationVars,
      {},
      {
        MOVING_SPEED_KMH: 5,
        STOP_MIN_SECONDS: 300,
        TRIP_MIN_DISTANCE_M: 100,
        SKEW_ANOMALY_S: 600,
        TRIP_GAP_SECONDS: 600,
      },
    ],
    ["mqttListenerVars", mqttListenerVars, {}, { MQTT_PORT: 1883, MQTT_WS_PORT: 8083, MQTT_HOST: "0.0.0.0" }],
    [
      "mqttBrokerVars",
      mqttBrokerVars,
      {},
      { MQTT_ALLOW_ANONYMOUS: false, BROKER_CLUSTER: "off", PRESENCE_GRACE_S: 30 },
    ],
    [
      "mqttLimitVars",
      mqttLimitVars,
      {},
      {
        MQTT_MAX_CONNECTIONS_PER_ADDRESS: 2000,
        MQTT_MAX_CONNECTIONS: 20000,
        MQTT_CONNECT_TIMEOUT_MS: 10000,
        DEVICE_RATE_LIMIT: 1000,
        DEVICE_RATE_BURST: 5000,
        COMMAND_ACK_RATE: 10,
        COMMAND_ACK_BURST: 100,
        MQTT_MAX_HELD_PER_CONNECTION: 1000,
        MQTT_MAX_HELD: 20_000,
        MQTT_MAX_PACKET_BYTES: 2_097_152,
        MQTT_CONNECT_RATE: 2000,
        MQTT_CONNECT_RATE_PER_ADDRESS: 500,
        MQTT_MAX_PENDING_AUTH: 1000,
        MQTT_MAX_SUBSCRIBER_BUFFER_BYTES: 4_194_304,
        MQTT_DRAIN_TIMEOUT_MS: 10_000,
        BROKER_SHED_LOOP_DELAY_MS: 1000,
        BROKER_SHED_HELD: 20_000,
        BROKER_SHED_QUEUE_MS: 5000,
        BROKER_SHED_DISCONNECT_MS: 0,
        BROKER_SHED_RESUME_PERCENT: 50,
      },
    ],
    [
      "externalBrokerVars",
      externalBrokerVars,
      { EXTERNAL_MQTT_URL: "mqtt://h:1883" },
      { BRIDGE_CONNECTIONS: 32, BRIDGE_SESSION_EXPIRY_S: 604_800 },
    ],
    ["httpVars", httpVars, {}, { HTTP_PORT: 8080, HTTP_HOST: "0.0.0.0" }],
    [
      "accessVars",
      accessVars,
      {},
      {
        CORS_ORIGINS: "",
        SESSION_TTL_HOURS: 24,
        SESSION_IDLE_MINUTES: 720,
        LOGIN_RATE_LIMIT: 10,
        LOGIN_ACCOUNT_FAILURES: 5,
        LOGIN_BACKOFF_MAX_SECONDS: 300,
        TRUST_PROXY: false,
      },
    ],
    ["healthVars", healthVars, {}, { QUEUE_ALERT_DEPTH: 100_000, METRICS_PUBLIC: false, DOCS_PUBLIC: false }],
    [
      "apiLimitVars",
      apiLimitVars,
      {},
      {
        HTTP_MAX_CONNECTIONS_PER_ADDRESS: 1000,
        HTTP_MAX_CONNECTIONS: 10000,
        HTTP_HEADERS_TIMEOUT_MS: 10000,
        HTTP_INGEST_RATE_LIMIT: 600,
        TRACK_MAX_DAYS: 31,
        TRACK_MAX_POINTS: 100_000,
        TRACK_SIMPLIFY_MAX_INPUT: 500_000,
        API_STATEMENT_TIMEOUT_MS: 15_000,
        WS_MAX_BUFFER_BYTES: 1_048_576,
        WS_MAX_SOCKETS: 10_000,
        WS_MAX_SOCKETS_PER_USER: 100,
        WS_MESSAGES_PER_MINUTE: 600,
      },
    ],
    [
      "uiVars",
      uiVars,
      {},
      {
        TILE_URL: "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        MAP_MAX_ZOOM: 19,
        STALE_AFTER_SECONDS: 300,
      },
    ],
    ["simulatorVars", simulatorVars, {}, {}],
    ["demoVars", demoVars, {}, { LOCAL_DEMO: false }],
    ["externalBrokerApiVars", externalBrokerApiVars, {}, {}],
  ])("%s", (_, piece, required, defaults) => {
    expect(piece.parse(required)).toEqual({ ...required, ...defaults });
  });
});
