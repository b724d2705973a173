import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../core/config.ts";

const base = { DATABASE_URL: "postgres://u@127.0.0.1:5432/db", REDIS_URL: "redis://127.0.0.1:6379" };

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
  ])("refuses %j naming %s", (env, name) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...env })).toThrow(name);
  });
});
